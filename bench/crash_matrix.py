"""Kill training while it writes a checkpoint, resume, and count silently wrong resumes (the target is 0).

    python bench/crash_matrix.py --data work/mnist.json.gz --random 30 --per-boundary 10

Each trial trains a small run in a child process and kills it (SIGKILL, no clean-up) either at a random
moment or right after one step of the epoch-1 checkpoint write: after each of its files, after its
manifest, after the rename that makes it current. It then resumes with `train.py --resume` and compares
the final weights with an uninterrupted run of the same seed: equal bit for bit, or refused with a
message, are both fine; different weights after a successful resume are a silent error.
The child mode (`--child`) is also what tests/test_checkpoint.py runs.
"""
import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # the project, run from anywhere, installed or not
# Children get this environment, as it was before this process imported paddle (which sets OMP_NUM_THREADS=1
# here): every run then uses the same thread count, and float sums come out bit for bit the same.
CHILD_ENV = dict(os.environ)
# the steps of one checkpoint write, in order (digits.runs.Run.save_checkpoint)
BOUNDARIES = ("model.npz", "optimizer.npz", "rng.json", "checkpoint.json", "manifest.json", "rename")
SETTINGS = ["--model", "mlp", "--loss", "ce", "--optimizer", "adam", "--lr", "0.01", "--epochs", "3",
            "--batch-size", "50", "--log-interval", "10"]


def child(args):
    """Train, dying (os._exit, as a kill would) right after step `--kill-after` of epoch 1's checkpoint."""
    import digits  # noqa: F401
    import digits.runs as runs

    epoch_of = {"epoch": None}
    original_checkpoint = runs.Run.save_checkpoint

    def passed(step):  # digits.runs calls this after each step of a checkpoint write
        if epoch_of["epoch"] == 1 and step == args.kill_after:
            os._exit(137)

    def save_checkpoint(self, model, optimizer, epoch, step):
        epoch_of["epoch"] = epoch
        return original_checkpoint(self, model, optimizer, epoch, step)

    runs.after_checkpoint_step = passed
    runs.Run.save_checkpoint = save_checkpoint
    sys.argv = ["train.py", *SETTINGS, "--data", args.data, "--out", args.out, "--seed", "0"]
    import train
    train.run_main(train.main)


def run(command, **options):
    return subprocess.run([sys.executable, *command], capture_output=True, text=True, cwd=ROOT, env=CHILD_ENV,
                          **options)


def final_weights(folder):
    import digits  # noqa: F401
    from digits.runs import Run, read_weights
    return read_weights(Run(folder).model_file())


def trial(data, folder, reference, kill_after=None, kill_delay=None):
    """'exact', 'refused', 'WRONG' or 'no run yet' (killed before it wrote anything) for one kill and resume."""
    out = os.path.join(folder, "run")
    if kill_after:
        run([__file__, "--child", "--data", data, "--out", out, "--kill-after", kill_after])
    else:
        process = subprocess.Popen([sys.executable, "train.py", *SETTINGS, "--data", data, "--out", out],
                                   cwd=ROOT, env=CHILD_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(kill_delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
    if not os.path.exists(os.path.join(out, "config.json")):
        return "no run yet"  # killed before the run folder existed: nothing to resume, nothing wrong
    resumed = run(["train.py", "--resume", out])
    if resumed.returncode != 0:
        return "refused"
    import numpy as np
    weights = final_weights(out)
    return "exact" if all(np.array_equal(weights[k], reference[k]) for k in reference) else "WRONG"


def matrix(args):
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        done = run(["train.py", *SETTINGS, "--data", args.data, "--out", os.path.join(folder, "straight")])
        assert done.returncode == 0, done.stderr
        reference, seconds = final_weights(os.path.join(folder, "straight")), time.perf_counter() - started
        counts = {}
        plan = [(b, None) for b in BOUNDARIES for _ in range(args.per_boundary)]
        rng = random.Random(0)
        # from 40% of a whole run on: earlier, the child is mostly still importing paddle, with nothing written yet
        plan += [(None, rng.uniform(0.4 * seconds, seconds)) for _ in range(args.random)]
        for number, (boundary, delay) in enumerate(plan):
            outcome = trial(args.data, tempfile.mkdtemp(dir=folder), reference, boundary, delay)
            key = f"after {boundary}" if boundary else "random moment"
            counts.setdefault(key, {}).setdefault(outcome, 0)
            counts[key][outcome] += 1
            print(f"trial {number + 1}/{len(plan)}: {key}: {outcome}", flush=True)
    print(f"\n{'kill':28s} {'exact':>6s} {'refused':>8s} {'WRONG':>6s} {'no run yet':>11s}")
    for key, outcomes in counts.items():
        print(f"{key:28s} {outcomes.get('exact', 0):6d} {outcomes.get('refused', 0):8d} {outcomes.get('WRONG', 0):6d} "
              f"{outcomes.get('no run yet', 0):11d}")
    wrong = sum(o.get("WRONG", 0) for o in counts.values())
    print(f"silently wrong resumes: {wrong} of {len(plan)} trials")
    return 1 if wrong else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.path.join(ROOT, "work", "mnist.json.gz"))
    parser.add_argument("--random", type=int, default=30, help="kills at random moments")
    parser.add_argument("--per-boundary", type=int, default=10, help="kills after each step of a checkpoint write")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--kill-after", choices=BOUNDARIES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    sys.exit(matrix(args))


if __name__ == "__main__":
    main()
