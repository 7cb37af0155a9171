"""Lab 06 · 资源配置 — Devices, and data-parallel training on several processes.

`--device auto` trains on a GPU when Paddle was built with CUDA and one is visible, else on the CPU;
asking for a GPU that is not there says so in one line (the course's code crashes instead).
Data parallelism: paddle.distributed.launch starts one process per device; each trains on its own
shard of every epoch, paddle.DataParallel averages the gradients, and only rank 0 writes the run.
This lab trains the CNN classifier with train.py in one process, then in two (CPU, gloo), and
compares time and accuracy. Two processes at batch 100 take 200 images per step, so an epoch has half
as many steps: expect a little lower accuracy after the same number of epochs.
On GPUs the same command takes `--devices 0,1 ... --device gpu`.

    python labs/06_devices_distributed.py
"""
import json
import os
import re
import subprocess
import sys
import time

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
from digits import PROJECT_ROOT
from digits.devices import select_device
from digits.errors import UserError, run_main
from digits.lab import lab_arguments, lab_folder, parse_lab_arguments

TRAIN = os.path.join(PROJECT_ROOT, "train.py")


def main():
    args = parse_lab_arguments(lab_arguments(__doc__, epochs=2))
    out = lab_folder("lab06")

    print(f"this Paddle build: {'CUDA' if paddle.is_compiled_with_cuda() else 'CPU only'}; "
          f"--device auto picks {select_device('auto')}")
    try:
        select_device("gpu")
    except UserError as e:
        print(f"asking for a GPU: {e}")

    training = [TRAIN, "--epochs", str(args.epochs), "--seed", str(args.seed), "--device", "cpu", "--log-interval", "100"]
    single = timed([sys.executable, *training, "--out", f"{out}/single"])
    launcher = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2", "--log_dir", f"{out}/log"]
    double = timed([*launcher, *training, "--out", f"{out}/two-processes"])

    checksums = [re.search(r"parameter checksum (\S+)", open(f"{out}/log/workerlog.{rank}").read()).group(1)
                 for rank in (0, 1)]
    print(f"\n{'':15s} {'wall s':>7s} {'s/epoch':>8s} {'eval acc':>9s}")
    for name, (seconds, folder) in (("1 process", single), ("2 processes", double)):
        records = [json.loads(line) for line in open(f"{folder}/metrics.jsonl")]
        epoch_seconds = [r["seconds"] for r in records if r["kind"] == "epoch"]
        accuracy = [r for r in records if r["kind"] == "eval"][0]["accuracy"]
        print(f"{name:15s} {seconds:7.1f} {sum(epoch_seconds) / len(epoch_seconds):8.1f} {100 * accuracy:8.2f}%")
    print(f"ranks end with the same weights: {checksums[0] == checksums[1]} (checksums {checksums[0]}, {checksums[1]})")


def timed(command):
    """Run a training command; return (wall seconds, the run folder it wrote)."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise UserError(f"{' '.join(command[1:4])}... failed: {(done.stderr or done.stdout).strip().splitlines()[-1]}")
    return time.perf_counter() - started, command[-1]


if __name__ == "__main__":
    run_main(main)
