"""NumPy MLP speed: one epoch of 784-100-10 at batch 100 on the 50,000 training images (target <= 1 s),
vectorised over the mini-batch as digits/numpy_nn.py does, against a per-sample loop (timed on a
slice and extrapolated).

One BLAS thread, as the NumPy labs should run: a batch's matrices are small, and on this shared
2-core machine OpenBLAS's second thread spins waiting for a core, which made an epoch 4-6 s instead
of 0.25 s. To see that, run it with OPENBLAS_NUM_THREADS=2.

    python bench/bench_numpy.py
"""
import os
import statistics
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # read when NumPy loads OpenBLAS, so before the import

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from digits.data import load_course_data  # noqa: E402
from digits.numpy_nn import SGD, batches, mlp  # noqa: E402
from digits.prepare import ensure_datafile  # noqa: E402


def epoch_seconds(images, labels, batch_size, repeats):
    network, optimizer, rng = mlp([784, 100, 10], seed=0), SGD(0.1), np.random.default_rng(0)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        for x, y in batches(images, labels, batch_size, rng):
            network.loss_and_gradients(x, y)
            optimizer.step(network)
        times.append(time.perf_counter() - started)
    return times, network


def main():
    images, labels = load_course_data(ensure_datafile())["train"]
    times, network = epoch_seconds(images, labels, 100, repeats=6)
    vectorised = statistics.median(times[1:])  # the first epoch pays for warming caches and BLAS threads
    print(f"OpenBLAS threads: {os.environ['OPENBLAS_NUM_THREADS']}")
    print(f"784-100-10, batch 100, {len(images)} images: {vectorised:.3f} s per epoch (median of {len(times) - 1}; "
          f"target <= 1 s); valid accuracy after {len(times)} epochs "
          f"{100 * network.accuracy(*load_course_data()['valid']):.2f}%")

    # The same network, one sample at a time (batch 1): what a per-sample Python loop costs.
    count = 2000
    per_sample, _ = epoch_seconds(images[:count], labels[:count], 1, repeats=1)
    projected = per_sample[0] * len(images) / count
    print(f"per-sample loop: {per_sample[0]:.2f} s for {count} images -> {projected:.1f} s per epoch "
          f"({projected / vectorised:.0f}x slower)")


if __name__ == "__main__":
    main()
