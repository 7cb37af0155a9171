"""Lab 06 · 资源配置 — Devices, and data-parallel training on several processes.

Course: chapter 2, 【手写数字识别】之资源配置 (COURSE.md, "Lab 7" and §5; the course numbers it section 7).
On screen, as the course writes them:
1. The device: paddle.set_device('gpu:0') or 'cpu', before the model is built. The course's own run
   of it prints "ValueError: ... PaddlePaddle is not compiled with CUDA"; the lab guards it with
   paddle.is_compiled_with_cuda(), as the course's porting notes advise, and shows that error too.
2. The course's train() for data parallelism: dist.init_parallel_env() joins the processes,
   paddle.DataParallel(model) averages the gradients across them (and starts every process from rank
   0's weights), and each process reads its own shard of every epoch through
   paddle.io.DistributedBatchSampler, the course's recommendation (without it every process would read
   the whole data). The course's CNN classifier, Adam, batch 100, 5 epochs.
3. train() run three ways: in this one process; in 2 processes started by
   paddle.distributed.spawn(train, nprocs=2); in 2 started by
   `python -m paddle.distributed.launch --nproc_per_node 2 this-file`, which writes each rank's output to
   log/workerlog.N. The lab compares wall time and eval accuracy, and checks that the ranks end with
   identical weights.

Deviations from the course, and why:
- This machine has no GPU and its Paddle is CPU-only, so the processes are CPU processes talking over
  gloo (spawn's backend="gloo"; launch picks it itself) instead of GPUs over NCCL. The GPU lines
  (set_device('gpu'), launch --devices 0,1, spawn backend "nccl") are written in but untested here.
- `launch --gpus '0,1'` is `--devices 0,1` in Paddle 3, and spawn's `selelcted_gpus` (a typo in the
  course) is `gpus`.
- Adam at lr 0.001, not the course's 0.01: lab 05 finds 0.01 too aggressive for Adam (lower accuracy on
  the full data; on the tests' small data it may not learn at all in one epoch).
- Two processes at batch 100 take 200 images per step, so an epoch has half as many steps; expect a
  slightly different accuracy after the same number of epochs. The sampler's shuffle is set by the
  epoch number (set_epoch), the same on every rank; --seed sets the initial weights.
- Each process trains with lab 02's step (digits.training.train_step) and is scored with lab 04's
  evaluation (digits.training.evaluate); train.py does all of this with `--device` and under launch.
- Paddle 3.3's init_parallel_env prints the flags it found changed; the lab hides that banner.

    python labs/06_devices_distributed.py
"""
import argparse
import contextlib
import io
import json
import logging
import os
import re
import subprocess
import sys
import time
import warnings

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
import paddle.distributed as dist
import paddle.nn.functional as F
from digits.data import IMAGE, load_data
from digits.dataset import MnistDataset
from digits.errors import UserError, run_main
from digits.lab import lab_arguments, lab_folder, parse_lab_arguments
from digits.onednn import accelerate, use_onednn
from digits.training import evaluate, seed_everything, train_step
from models.cnn import CNN

# spawn's notice that it trains on CPU with gloo, and its launcher's INFO line about free ports: noise here
warnings.filterwarnings("ignore", message="Your model will be trained under CPUONLY mode")
logging.getLogger("root").setLevel(logging.WARNING)


def main():
    parser = lab_arguments(__doc__, epochs=5)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # one process under launch
    args = parse_lab_arguments(parser)
    use_gpu = paddle.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0
    if args.worker:
        print("result", json.dumps(train(args.epochs, args.seed, args.onednn, use_gpu)))
        return
    out = lab_folder("lab06")

    # 1. The device, guarded as the course advises; then the course's unguarded line on this build.
    paddle.set_device("gpu:0" if use_gpu else "cpu")
    print(f"this Paddle build: {'CUDA' if paddle.is_compiled_with_cuda() else 'CPU only'}; "
          f"GPUs visible: {paddle.device.cuda.device_count() if paddle.is_compiled_with_cuda() else 0}; "
          f"training on {paddle.get_device()}")
    if not paddle.is_compiled_with_cuda():
        try:
            paddle.set_device("gpu:0")
        except ValueError as error:  # the course's printed output; Paddle's message also holds a regex object
            print(f"paddle.set_device('gpu:0') unguarded, as the course runs it: ValueError: ... "
                  f"{str(error).rsplit(', ', 1)[-1]}")
        paddle.set_device("cpu")

    # 3a. One process: train() called here.
    runs = {}
    started = time.perf_counter()
    alone = train(args.epochs, args.seed, args.onednn, use_gpu)
    runs["1 process"] = time.perf_counter() - started, [alone]

    # 3b. paddle.distributed.spawn: this process starts 2 that each run train(); their return values come back.
    started = time.perf_counter()
    context = dist.spawn(train, args=(args.epochs, args.seed, args.onednn, use_gpu), nprocs=2,
                         backend="nccl" if use_gpu else "gloo")
    runs["2, spawn"] = time.perf_counter() - started, [queue.get() for queue in context.return_queues]

    # 3c. paddle.distributed.launch: 2 processes each run this file as a script (--worker: only train()).
    devices = ["--devices", "0,1"] if use_gpu else ["--nproc_per_node", "2"]
    command = [sys.executable, "-m", "paddle.distributed.launch", *devices, "--log_dir", f"{out}/log",
               os.path.abspath(__file__), "--worker", "--epochs", str(args.epochs), "--seed", str(args.seed),
               *([] if args.onednn else ["--no-onednn"])]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    logs = [open(f"{out}/log/workerlog.{rank}").read() if os.path.exists(f"{out}/log/workerlog.{rank}") else ""
            for rank in (0, 1)]
    results = [re.search(r"^result (.*)$", log, re.M) for log in logs]
    if done.returncode != 0 or not all(results):
        last_line = ((logs[0] + done.stderr).strip().splitlines() or ["no output"])[-1]
        raise UserError(f"paddle.distributed.launch failed ({last_line}); see {out}/log")
    runs["2, launch"] = time.perf_counter() - started, [json.loads(r.group(1)) for r in results]

    print(f"\n{'processes':12s} {'wall s':>7s} {'train s':>8s} {'steps/epoch':>12s} {'eval acc':>9s}  same weights on every rank")
    for name, (seconds, ranks) in runs.items():
        same = len({r["checksum"] for r in ranks}) == 1
        print(f"{name:12s} {seconds:7.1f} {ranks[0]['seconds']:8.1f} {ranks[0]['steps']:12d} "
              f"{100 * ranks[0]['eval']:8.2f}%  {same if len(ranks) > 1 else '-'}")
    spawned, launched = runs["2, spawn"][1][0]["checksum"], runs["2, launch"][1][0]["checksum"]
    print(f"spawn and launch end with the same weights: {spawned == launched} ({spawned}, {launched})")
    print(f"the launcher's per-rank logs: {out}/log/workerlog.0, workerlog.1")


def train(epochs, seed, onednn=True, use_gpu=False):
    """The course's train(): one process of a data-parallel run, or the only one. Returns this rank's
    numbers: training seconds, steps per epoch, a checksum of its weights, and (rank 0) eval accuracy."""
    use_onednn(onednn)  # a spawned process starts afresh: pass --no-onednn on
    paddle.set_device("gpu" if use_gpu else "cpu")  # under launch or spawn, "gpu" is this rank's own GPU
    rank, world_size = dist.get_rank(), dist.get_world_size()
    if world_size > 1:  # started by spawn or launch
        with contextlib.redirect_stderr(io.StringIO()):  # Paddle 3.3 prints the flags it finds changed: noise
            dist.init_parallel_env()
    seed_everything(seed)
    network = accelerate(CNN(num_outputs=10))  # oneDNN's conv kernels, as fit() uses (--no-onednn: Paddle's)
    model = paddle.DataParallel(network) if world_size > 1 else network
    optimizer = paddle.optimizer.Adam(learning_rate=0.001, parameters=model.parameters())

    # This rank's shard: of every epoch's shuffled order, rank r of n takes its own 1/n.
    dataset = MnistDataset("train", image_shape=IMAGE, label_dtype="int64")
    sampler = paddle.io.DistributedBatchSampler(dataset, batch_size=100, shuffle=True)
    train_loader = paddle.io.DataLoader(dataset, batch_sampler=sampler)

    started = time.perf_counter()
    for epoch in range(epochs):
        sampler.set_epoch(epoch)  # a new order each epoch, the same on every rank, so the shards do not overlap
        for images, labels in train_loader():
            _, loss = train_step(model, optimizer, images, labels, F.cross_entropy)
        if rank == 0:
            print(f"{world_size} process{'es' * (world_size > 1)}, epoch {epoch}: last batch loss {float(loss):.4f}",
                  flush=True)
    result = {"rank": rank, "seconds": time.perf_counter() - started, "steps": len(sampler),
              "checksum": f"{sum(float(p.astype('float64').sum()) for p in network.parameters()):.10f}"}
    if rank == 0:
        result["eval"] = evaluate(network, load_data("eval", 100, image_shape=IMAGE, label_dtype="int64"), "ce")["accuracy"]
    return result


if __name__ == "__main__":
    run_main(main)
