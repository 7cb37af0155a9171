"""How long `eval.py RUN --image` takes, and how much memory, for many photos at once.

    python bench/bench_photos.py                          # 1,000 photos, the shipped model
    python bench/bench_photos.py --count 300 --run runs/RUN

The photos are MNIST test digits drawn as phone photos (dark ink on light paper, larger, off-centre: the
stand-in digits.preprocess.digit_photo makes), named `<digit>_<n>.png` so that eval.py also reports the
accuracy. eval.py runs as a user runs it, in its own process; its wall time and peak memory are printed.
This process imports neither Paddle nor NumPy's big friends, so the child's peak is its own.
"""
import argparse
import gzip
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # the project, run from anywhere

import numpy as np  # noqa: E402

from digits.idx import FILES  # noqa: E402
from digits.preprocess import digit_photo  # noqa: E402


def photos(source, folder, count):
    """`count` test digits as photos in `folder`, named by their digit; returns their paths."""
    images = np.frombuffer(gzip.open(os.path.join(source, FILES["test_images"])).read(), np.uint8, offset=16)
    labels = np.frombuffer(gzip.open(os.path.join(source, FILES["test_labels"])).read(), np.uint8, offset=8)
    images = images.reshape(-1, 28, 28)
    return [digit_photo(images[i], os.path.join(folder, f"{labels[i]}_{i}.png"), offset=(20 + i % 7 * 7, 30))
            for i in range(count)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000, help="photos (default: %(default)s)")
    parser.add_argument("--run", default=os.path.join(ROOT, "pretrained", "robust"), help="the model folder")
    parser.add_argument("--source", default=os.environ.get("MNIST_SOURCE") or os.path.join(ROOT, "..", "shared",
                                                                                           "data", "mnist"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        paths = photos(args.source, folder, args.count)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, os.path.join(ROOT, "eval.py"), args.run, "--image", *paths],
                              capture_output=True, text=True)
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    lines = done.stdout.strip().splitlines()
    print("\n".join(line for line in lines if not line.startswith(folder)))
    print(f"eval.py read {args.count} photos in {seconds:.1f} s (exit code {done.returncode}), peak memory "
          f"{peak:.0f} MB")


if __name__ == "__main__":
    main()
