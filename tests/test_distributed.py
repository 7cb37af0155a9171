"""Data-parallel training with Paddle's launcher: 2 CPU processes end with identical weights."""
import json
import os
import re
import subprocess
import sys

import digits


def test_two_processes_train_one_model(tmp_path, small_datafile):
    out, logs = tmp_path / "run", tmp_path / "log"
    done = subprocess.run(
        [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2", "--log_dir", str(logs),
         os.path.join(digits.PROJECT_ROOT, "train.py"), "--epochs", "2", "--batch-size", "50", "--log-interval", "5",
         "--device", "cpu", "--out", str(out)],
        cwd=tmp_path, env={**os.environ, "MNIST_JSON": str(small_datafile)}, capture_output=True, text=True, timeout=600)
    worker_logs = [(logs / f"workerlog.{rank}").read_text() for rank in (0, 1)]
    assert done.returncode == 0, done.stdout[-3000:] + "".join(worker_logs)[-3000:]

    checksums = [re.search(rf"rank {rank}: parameter checksum (\S+)", log).group(1) for rank, log in enumerate(worker_logs)]
    assert checksums[0] == checksums[1]
    assert "epoch: 0, batch: 0" in worker_logs[0] and "epoch: 0, batch: 0" not in worker_logs[1]  # rank 0 speaks

    with open(out / "metrics.jsonl") as f:
        records = [json.loads(line) for line in f]
    batches = [r for r in records if r["kind"] == "batch"]
    assert batches[-1]["batch"] == 15  # each rank saw 2000 / 2 images per epoch, in 20 batches of 50
    assert batches[-1]["window_loss"] < batches[0]["window_loss"] / 2
    assert [r for r in records if r["kind"] == "eval"][0]["accuracy"] > 0.8
    assert sorted(os.listdir(tmp_path)) == ["log", "run"]  # only rank 0 wrote a run folder
