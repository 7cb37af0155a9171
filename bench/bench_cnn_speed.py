"""How fast the course CNN trains on this CPU: Paddle's own kernels, the project's oneDNN layers, PyTorch.

The course CNN (conv 20@5x5 pad 2 -> relu -> pool 2, twice, Linear(980, 10)), cross-entropy, batch 100,
on the real course data (work/mnist.json.gz). Three measurements, each printed as a table of medians:

1. training step: forward + backward + SGD step on real batches, images/s and the 50,000-image epoch
   it implies, per thread count: Paddle's kernels, the course class with oneDNN's convolutions but its stages
   unfused (--no-fuse), and as train.py runs it (each conv -> relu -> pool stage one fused oneDNN call).
   Paddle variants run interleaved in one process, so load from other processes hits them alike; PyTorch runs in its own process right after, on the same batches.
2. training epoch: the 50,000 training images once through a whole loop, Adam 0.001: the course's
   program (its JSON loader building each batch from per-sample np.array calls, Paddle's kernels),
   train.py itself (its own "epoch 0 done in" line: the project's loop with its bookkeeping, as a user
   runs it) with --no-onednn, with --no-fuse and by default (the course class, oneDNN convolutions, its
   stages fused), and PyTorch's loop doing the same per-batch work (the loss and the hits read back, as train.py logs them).
3. time to 99% (--time-to-99): `python train.py --preset minute`, wall time from start to the eval
   accuracy, warm data cache, and the same run with --no-onednn.

    python bench/bench_cnn_speed.py [--quick] [--threads 1 2] [--time-to-99] [--torch-python PYTHON]

PyTorch is an optional peer the project does not depend on: give --torch-python the python of a
virtualenv that has it (`python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 numpy`).
Peak RSS is per process: a worker's row shows the peak of the process that ran it.
"""
import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
BATCH, EPOCH_IMAGES = 100, 50_000
STEP_BATCHES = 10    # distinct real batches the step measurement cycles through
RECIPE = ["--preset", "minute"]  # train.py's 99%-in-a-minute run


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def interleaved_rates(steps_by_name, repeats, steps, warmup=3):
    """Median images/s of each variant; each repeat times `steps` steps of every variant in turn."""
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


# ---------------------------------------------------------------- workers (one process each)

def paddle_step_worker(args):
    import numpy as np

    import digits  # noqa: F401  (before paddle: Pillow's zlib, see digits/__init__.py)
    import paddle
    import paddle.nn.functional as F

    from digits.onednn import accelerate
    from models import build_model

    arrays = np.load(args.arrays)
    images = [paddle.to_tensor(arrays["images"][i * BATCH:(i + 1) * BATCH].reshape(-1, 1, 28, 28))
              for i in range(STEP_BATCHES)]
    labels = [paddle.to_tensor(arrays["labels"][i * BATCH:(i + 1) * BATCH].reshape(-1, 1)) for i in range(STEP_BATCHES)]

    def trainer(onednn, fuse=True):
        paddle.seed(0)
        model = build_model("cnn", 10)
        if onednn:
            accelerate(model, fuse=fuse)
        optimizer = paddle.optimizer.SGD(0.01, parameters=model.parameters())
        state = {"i": 0}

        def step():
            i = state["i"] = (state["i"] + 1) % STEP_BATCHES
            loss = F.cross_entropy(model(images[i]), labels[i])
            loss.backward()
            optimizer.step()
            optimizer.clear_grad()
            return float(loss)
        return step

    rates = interleaved_rates({"paddle (its own kernels)": trainer(False),
                               "oneDNN convs, --no-fuse": trainer(True, fuse=False),
                               "oneDNN, fused (train.py)": trainer(True)}, args.repeats, args.steps)
    return {"rates": rates, "rss_mb": peak_rss_mb()}


def torch_model_and_data(args):
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 20, 5, 1, 2), torch.nn.ReLU(), torch.nn.MaxPool2d(2, 2),
        torch.nn.Conv2d(20, 20, 5, 1, 2), torch.nn.ReLU(), torch.nn.MaxPool2d(2, 2),
        torch.nn.Flatten(), torch.nn.Linear(980, 10))
    arrays = np.load(args.arrays)
    return model, arrays["images"], arrays["labels"]


def torch_step_worker(args):
    import torch
    import torch.nn.functional as F

    model, images, labels = torch_model_and_data(args)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    batches = [(torch.from_numpy(images[i * BATCH:(i + 1) * BATCH].reshape(-1, 1, 28, 28)),
                torch.from_numpy(labels[i * BATCH:(i + 1) * BATCH].astype("int64"))) for i in range(STEP_BATCHES)]
    state = {"i": 0}

    def step():
        i = state["i"] = (state["i"] + 1) % STEP_BATCHES
        optimizer.zero_grad()
        loss = F.cross_entropy(model(batches[i][0]), batches[i][1])
        loss.backward()
        optimizer.step()
        return float(loss)
    rates = interleaved_rates({f"pytorch {torch.__version__}": step}, args.repeats, args.steps)
    return {"rates": rates, "rss_mb": peak_rss_mb()}


def course_epoch_worker(args):
    """Seconds for one epoch of the course's program: its loader (per-sample np.array batches; the JSON parse
    before the epoch is not timed), Paddle's kernels at Paddle's default thread count, Adam 0.001."""
    import numpy as np

    import digits  # noqa: F401  (before paddle: Pillow's zlib, see digits/__init__.py)
    import paddle
    import paddle.nn.functional as F

    from digits.courseloader import load_data
    from digits.onednn import use_onednn
    from models import build_model

    paddle.seed(0)
    np.random.seed(0)
    use_onednn(False)
    model = build_model("cnn", 10)
    model.train()
    optimizer = paddle.optimizer.Adam(0.001, parameters=model.parameters())
    loader = load_data("train", args.data, BATCH)
    started = time.perf_counter()
    for images, labels in loader():
        images = paddle.to_tensor(images.reshape(-1, 1, 28, 28))
        labels = paddle.to_tensor(labels.reshape(-1, 1).astype("int64"))
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
    return {"seconds": time.perf_counter() - started, "rss_mb": peak_rss_mb()}


def torch_epoch_worker(args):
    """Seconds for one epoch of PyTorch's loop doing what train.py's loop does per batch: Adam 0.001, and the
    loss and the batch's hits read back (train.py logs both)."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    model, images, labels = torch_model_and_data(args)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    order = np.random.default_rng(0).permutation(len(images))
    started = time.perf_counter()
    for batch in range(-(-len(images) // BATCH)):
        chosen = order[batch * BATCH:(batch + 1) * BATCH]
        x = torch.from_numpy(images[chosen].reshape(-1, 1, 28, 28))
        y = torch.from_numpy(labels[chosen].astype("int64"))
        optimizer.zero_grad()
        outputs = model(x)
        loss = F.cross_entropy(outputs, y)
        loss.backward()
        optimizer.step()
        float(loss), int((outputs.argmax(1) == y).sum())
    return {"seconds": time.perf_counter() - started, "rss_mb": peak_rss_mb()}


def run_train_py(args, flags):
    """train.py with these flags, as a user runs it (no thread settings given: importing Paddle here put
    OMP_NUM_THREADS=1 in this process's environment): (its output, exit status, peak RSS in MB, wall seconds)."""
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, os.path.join(ROOT, "train.py"), *flags, "--data", args.data,
                                    "--out", os.path.join(out, "run")],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   env={k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"})
        output = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        return output, status, usage.ru_maxrss / 1024, time.perf_counter() - started


def train_py_epoch(args, extra):
    """train.py itself for one epoch: its own epoch line's seconds."""
    output, status, rss_mb, _ = run_train_py(args, ["--epochs", "1", *extra])
    found = re.search(r"epoch 0 done in ([\d.]+)s", output)
    if status != 0 or not found:
        print(f"  train.py {' '.join(extra)} failed (exit status {status}): {output.strip().splitlines()[-1:]}")
        return None
    return {"seconds": float(found.group(1)), "rss_mb": rss_mb}


def peak_worker(args):
    """The roofline: the course CNN's FLOP per image per training step and this machine's fp32 GEMM rate."""
    import digits  # noqa: F401  (before paddle: Pillow's zlib, see digits/__init__.py)
    from bench.roofline import gemm_peak_gflops, training_flop_per_image
    from models import build_model
    return {"flop_per_image": training_flop_per_image(build_model("cnn", 10)), "gflops": gemm_peak_gflops(args.threads)}


WORKERS = {"peak": peak_worker, "paddle-step": paddle_step_worker, "torch-step": torch_step_worker,
           "course-epoch": course_epoch_worker, "torch-epoch": torch_epoch_worker}


# ---------------------------------------------------------------- the parent: runs workers, prints tables

_rooflines = {}  # threads -> the peak worker's answer: measured once per thread count in a bench run


def measured_roofline(threads, args):
    if threads not in _rooflines:
        _rooflines[threads] = run_worker(sys.executable, "peak", threads, args)
    return _rooflines[threads]


def epoch_floor(roofline):
    """The shortest time an epoch's arithmetic can take here (bench/roofline.py)."""
    from bench.roofline import floor_seconds
    return floor_seconds(roofline["flop_per_image"], EPOCH_IMAGES, roofline["gflops"])


def share_of_peak(roofline, epoch_seconds):
    return f"{100 * epoch_floor(roofline) / epoch_seconds:.0f}%" if roofline else "-"


def run_worker(python, kind, threads, args, env_threads=True, **extra):
    command = [python, os.path.abspath(__file__), "--worker", kind, "--threads", str(threads),
               "--repeats", str(args.repeats), "--steps", str(args.steps), "--arrays", args.arrays,
               "--data", args.data] + [f"--{k}={v}" for k, v in extra.items()]
    env = {**os.environ, "GLOG_minloglevel": "2", "PYTHONPATH": ROOT}
    env.pop("OMP_NUM_THREADS", None)
    if env_threads:  # else the process picks its threads itself, as the course's program does
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        print(f"  {kind} worker failed (exit {done.returncode}): {tail}")
        return None
    return json.loads(lines[-1])


def step_table(args):
    print(f"\n1. training step: forward + backward + SGD, batch {BATCH} of real digits; median of {args.repeats} "
          f"repeats x {args.steps} steps, Paddle variants interleaved")
    print(f"{'variant':30s} {'threads':>7s} {'img/s':>8s} {'s/epoch':>8s} {'vs paddle':>10s} {'vs pytorch':>10s} "
          f"{'% of peak':>9s} {'peak RSS':>9s}")
    for threads in args.threads:
        rows = []
        roofline = measured_roofline(threads, args)
        paddle_result = run_worker(sys.executable, "paddle-step", threads, args)
        if paddle_result:
            rows += [(name, rate, paddle_result["rss_mb"]) for name, rate in paddle_result["rates"].items()]
        if args.torch_python:
            torch_result = run_worker(args.torch_python, "torch-step", threads, args)
            if torch_result:
                rows += [(name, rate, torch_result["rss_mb"]) for name, rate in torch_result["rates"].items()]
        plain = next((rate for name, rate, _ in rows if name.startswith("paddle")), None)
        torch_rate = next((rate for name, rate, _ in rows if name.startswith("pytorch")), None)
        for name, rate, rss in rows:
            print(f"{name:30s} {threads:7d} {rate:8.0f} {EPOCH_IMAGES / rate:8.1f} "
                  f"{(f'{rate / plain:.2f}x' if plain else '-'):>10s} "
                  f"{(f'{rate / torch_rate:.2f}x' if torch_rate else '-'):>10s} "
                  f"{share_of_peak(roofline, EPOCH_IMAGES / rate):>9s} {rss:7.0f}MB")
        if roofline:
            print(f"{'(the arithmetic floor)':30s} {threads:7d} {'':8s} {epoch_floor(roofline):8.1f} "
                  f"{'':10s} {'':10s} {'100%':>9s}   ({roofline['gflops']:.0f} GFLOP/s fp32 GEMM, {threads} threads)")


def epoch_table(args):
    threads = max(args.threads)
    roofline = measured_roofline(threads, args)
    print(f"\n2. training epoch: the {EPOCH_IMAGES:,} training images once through each loop, Adam 0.001, batch {BATCH}; "
          f"median of {args.epoch_repeats} run(s) each, the loops taking turns")
    variants = [("course's program (its loader, Paddle's kernels)", lambda: run_worker(sys.executable, "course-epoch",
                                                                                     threads, args, env_threads=False)),
                ("train.py --no-onednn", lambda: train_py_epoch(args, ["--no-onednn"])),
                ("train.py --no-fuse (oneDNN convs, stages unfused)", lambda: train_py_epoch(args, ["--no-fuse"])),
                ("train.py (oneDNN, stages fused)", lambda: train_py_epoch(args, []))]
    if args.torch_python:
        variants.append((f"PyTorch's loop, {threads} threads", lambda: run_worker(args.torch_python, "torch-epoch",
                                                                                threads, args)))
    seconds, rss = {name: [] for name, _ in variants}, {}
    for _ in range(args.epoch_repeats):
        for name, measure in variants:
            result = measure()
            if result:
                seconds[name].append(result["seconds"])
                rss[name] = max(rss.get(name, 0), result["rss_mb"])
    medians = {name: statistics.median(values) for name, values in seconds.items() if values}
    course = medians.get(variants[0][0])
    torch_seconds = medians.get(variants[-1][0]) if args.torch_python else None
    print(f"{'loop':48s} {'s/epoch':>8s} {'img/s':>7s} {'vs course':>10s} {'vs PyTorch':>10s} {'% of peak':>9s} "
          f"{'peak RSS':>9s}")
    for name, value in medians.items():
        print(f"{name:48s} {value:8.1f} {EPOCH_IMAGES / value:7.0f} {(f'{course / value:.2f}x' if course else '-'):>10s} "
              f"{(f'{torch_seconds / value:.2f}x' if torch_seconds else '-'):>10s} {share_of_peak(roofline, value):>9s} "
              f"{rss[name]:7.0f}MB")
    if roofline:
        print(f"{'(the arithmetic floor)':48s} {epoch_floor(roofline):8.1f} {'':7s} {'':10s} {'':10s} {'100%':>9s}"
              f"   ({roofline['flop_per_image'] / 1e6:.1f} MFLOP per image per step at {roofline['gflops']:.0f} GFLOP/s, "
              f"the fastest fp32 GEMM here, {threads} threads)")
    default, plain = medians.get(variants[3][0]), medians.get(variants[1][0])
    if default:
        versus = f", {torch_seconds / default:.2f}x PyTorch's loop (target >= 2x)" if torch_seconds else ""
        print(f"train.py's epoch: {default:.1f} s, {share_of_peak(roofline, default)} of peak (target >= 60%){versus}")
    if plain and course:
        print(f"train.py --no-onednn: {plain:.1f} s against the course's program's {course:.1f} s (target: no slower)")


def time_to_99_table(args):
    print(f"\n3. time to 99%: python train.py {' '.join(RECIPE)} (warm data cache), wall time and eval accuracy")
    print(f"{'run':26s} {'wall s':>7s} {'eval acc':>9s} {'peak RSS':>9s}")
    for name, extra in (("project (oneDNN layers)", []), ("--no-onednn", ["--no-onednn"])):
        output, status, rss_mb, wall = run_train_py(args, [*RECIPE, *extra])
        found = re.search(r"eval: loss [\d.]+, accuracy ([\d.]+)%", output)
        accuracy = f"{found.group(1)}%" if found and status == 0 else "failed"
        print(f"{name:26s} {wall:7.1f} {accuracy:>9s} {rss_mb:7.0f}MB")


def save_arrays(datafile):
    """The course file's training split as one .npz the workers (PyTorch's too) can read without Paddle."""
    import numpy as np

    from digits.data import load_course_data
    images, labels = load_course_data(datafile)["train"]
    handle, path = tempfile.mkstemp(suffix=".npz")
    with os.fdopen(handle, "wb") as f:
        np.savez(f, images=images.astype("float32"), labels=labels.reshape(-1).astype("int64"))
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats: one epoch of each loop")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts for the step table")
    parser.add_argument("--torch-python", help="python of a virtualenv with torch==2.13.0 (else PyTorch is skipped)")
    parser.add_argument("--time-to-99", action="store_true", help="also time train.py's 99%% recipe (~7 minutes)")
    parser.add_argument("--data", help="course file (default: work/mnist.json.gz, built from --source if missing)")
    parser.add_argument("--source", help="folder of the MNIST .gz files, to build a missing course file")
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--epoch-repeats", type=int)
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--arrays", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.repeats = args.repeats or (3 if args.quick else 7)
    args.steps = args.steps or (5 if args.quick else 10)
    if args.worker:
        args.threads = args.threads[0]
        print(json.dumps(WORKERS[args.worker](args)))
        return

    import digits  # noqa: F401  (quiet Paddle)
    from digits.prepare import ensure_datafile
    args.data = ensure_datafile(args.data, args.source)
    args.epoch_repeats = args.epoch_repeats or (1 if args.quick else 3)
    args.arrays = save_arrays(args.data)
    try:
        print(f"course CNN, batch {BATCH}; an epoch is {EPOCH_IMAGES:,} images; % of peak = the epoch's arithmetic at "
              f"this machine's fastest fp32 GEMM rate / the epoch's time")
        if not args.torch_python:
            print("PyTorch: skipped (give --torch-python PATH of a python with torch==2.13.0)")
        step_table(args)
        epoch_table(args)
        if args.time_to_99:
            time_to_99_table(args)
    finally:
        os.remove(args.arrays)


if __name__ == "__main__":
    main()
