"""Training speed of the course CNN (conv 20@5x5 -> relu -> pool 2, twice, Linear(980, 10)), batch 100:
forward + backward + SGD step on synthetic float32 input, in images/s and projected seconds per
50,000-image epoch (target <= 11 s). Variants run side by side (interleaved) in one process per
thread count, so load from other processes hits them alike; ratios are against plain Paddle.

    python bench/bench_cnn_speed.py [--quick] [--threads 1 2] [--torch-python /tmp/torchvenv/bin/python]

Variants: plain Paddle dynamic (nn.Conv2D, nn.MaxPool2D); "fast" (digits.fastconv.conv2d_layer /
maxpool_layer: GemmConv2D for conv1, Paddle's kernel for conv2, mask-backward max pool); both under
paddle.jit.to_static; PyTorch 2.13 (same model) when --torch-python names a python that has torch
(the project itself does not depend on torch; make one with
`python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 numpy`).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BATCH, EPOCH_IMAGES = 100, 50_000


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(steps_by_name, repeats, steps, warmup):
    """Interleave the variants: each repeat times `steps` training steps of every variant in turn."""
    for step in steps_by_name.values():
        for _ in range(warmup):
            step()
    rates = {name: [] for name in steps_by_name}
    for _ in range(repeats):
        for name, step in steps_by_name.items():
            started = time.perf_counter()
            for _ in range(steps):
                step()
            rates[name].append(steps * BATCH / (time.perf_counter() - started))
    return {name: statistics.median(values) for name, values in rates.items()}


def paddle_worker(args):
    sys.path.insert(0, ROOT)
    os.environ.setdefault("GLOG_minloglevel", "2")
    import warnings
    warnings.filterwarnings("ignore", message="No ccache found")
    import numpy as np
    import paddle
    import paddle.nn.functional as F
    from digits.fastconv import conv2d_layer, maxpool_layer

    paddle.base.core.set_num_threads(args.threads[0])  # Paddle's own setting; OMP_NUM_THREADS is set by the parent

    class CNN(paddle.nn.Layer):  # the course CNN (models/cnn.py), conv/pool layers chosen by `fast`
        def __init__(self, fast):
            super().__init__()
            self.conv1 = conv2d_layer(1, 20, 5, stride=1, padding=2, fast=fast)
            self.pool1 = maxpool_layer(2, 2, fast=fast)
            self.conv2 = conv2d_layer(20, 20, 5, stride=1, padding=2, fast=fast)
            self.pool2 = maxpool_layer(2, 2, fast=fast)
            self.fc = paddle.nn.Linear(20 * 7 * 7, 10)

        def forward(self, images):
            x = self.pool1(F.relu(self.conv1(images)))
            x = self.pool2(F.relu(self.conv2(x)))
            return self.fc(paddle.flatten(x, start_axis=1))

    rng = np.random.default_rng(0)
    images = paddle.to_tensor(rng.uniform(-1, 1, size=[BATCH, 1, 28, 28]).astype("float32"))
    labels = paddle.to_tensor(rng.integers(0, 10, size=[BATCH, 1]))

    def trainer(fast, static):
        paddle.seed(0)
        model = CNN(fast)
        if static:
            model = paddle.jit.to_static(model, full_graph=True)
        optimizer = paddle.optimizer.SGD(0.01, parameters=model.parameters())

        def step():
            loss = F.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()
            optimizer.clear_grad()
            return float(loss)
        return step

    steps = {"paddle dynamic": trainer(False, False), "paddle fast": trainer(True, False)}
    notes = {}
    if not args.no_static:
        for name, fast in (("paddle to_static", False), ("paddle fast to_static", True)):
            try:
                step = trainer(fast, True)
                step()
                steps[name] = step
            except Exception as error:  # report, don't hide: the table says why the row is missing
                notes[name] = f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"
    # the fast layers must not change the mathematics: same losses for a few steps from the same seed
    check = [trainer(False, False), trainer(True, False)]
    losses = [[check[i]() for _ in range(3)] for i in (0, 1)]
    notes["fast vs plain loss after 3 steps"] = f"{losses[0][-1]:.6f} vs {losses[1][-1]:.6f}"
    rates = measure(steps, args.repeats, args.steps, args.warmup)
    print(json.dumps({"threads": args.threads[0], "rates": rates, "notes": notes, "rss_mb": peak_rss_mb()}))


def torch_worker(args):
    import numpy as np
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads[0])
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 20, 5, 1, 2), torch.nn.ReLU(), torch.nn.MaxPool2d(2, 2),
        torch.nn.Conv2d(20, 20, 5, 1, 2), torch.nn.ReLU(), torch.nn.MaxPool2d(2, 2),
        torch.nn.Flatten(), torch.nn.Linear(980, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.uniform(-1, 1, size=[BATCH, 1, 28, 28]).astype("float32"))
    labels = torch.from_numpy(rng.integers(0, 10, size=[BATCH]))

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        return float(loss)
    rates = measure({f"pytorch {torch.__version__}": step}, args.repeats, args.steps, args.warmup)
    print(json.dumps({"threads": args.threads[0], "rates": rates, "notes": {}, "rss_mb": peak_rss_mb()}))


def run_worker(python, mode, threads, args):
    command = [python, os.path.abspath(__file__), "--worker", mode, "--threads", str(threads),
               "--repeats", str(args.repeats), "--steps", str(args.steps), "--warmup", str(args.warmup)]
    if args.no_static:
        command.append("--no-static")
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "GLOG_minloglevel": "2"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        return {"threads": threads, "rates": {}, "notes": {mode: f"worker failed (exit {done.returncode}): {tail}"},
                "rss_mb": 0}
    return json.loads(lines[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and steps (~1 minute)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--torch-python", help="python of a virtualenv with torch==2.13.0 (else PyTorch is skipped)")
    parser.add_argument("--no-static", action="store_true", help="skip the paddle.jit.to_static variants")
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--worker", choices=["paddle", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.repeats = args.repeats or (3 if args.quick else 5)
    args.steps = args.steps or (5 if args.quick else 10)
    if args.worker == "paddle":
        return paddle_worker(args)
    if args.worker == "torch":
        return torch_worker(args)

    print(f"course CNN, batch {BATCH}, forward+backward+SGD on synthetic input; median of {args.repeats} "
          f"repeats x {args.steps} steps per variant, variants interleaved; epoch = {EPOCH_IMAGES:,} images",
          flush=True)
    results = []
    for threads in args.threads:
        results.append(run_worker(sys.executable, "paddle", threads, args))
        if args.torch_python:
            results.append(run_worker(args.torch_python, "torch", threads, args))
    if not args.torch_python:
        print("PyTorch: skipped (give --torch-python PATH of a python with torch==2.13.0)")

    baseline = {r["threads"]: r["rates"].get("paddle dynamic") for r in results if "paddle dynamic" in r["rates"]}
    base1 = baseline.get(min(baseline)) if baseline else None
    first = f"vs plain@{min(baseline) if baseline else '-'}"
    print(f"\n{'variant':26s} {'threads':>7s} {'img/s':>8s} {'s/epoch':>8s} {'vs plain':>9s} {first:>11s} {'peak RSS':>9s}")
    for result in results:
        for name, rate in result["rates"].items():
            same = baseline.get(result["threads"])
            print(f"{name:26s} {result['threads']:7d} {rate:8.0f} {EPOCH_IMAGES / rate:8.1f} "
                  f"{(f'{rate / same:.2f}x' if same else '-'):>9s} {(f'{rate / base1:.2f}x' if base1 else '-'):>11s} "
                  f"{result['rss_mb']:7.0f}MB")
    for result in results:
        for name, note in result["notes"].items():
            print(f"note ({result['threads']} thread{'s' if result['threads'] > 1 else ''}): {name}: {note}")
    print(f"target: <= 11 s per epoch, i.e. >= {EPOCH_IMAGES / 11:.0f} img/s")


if __name__ == "__main__":
    main()
