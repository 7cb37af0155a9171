"""The roofline both CNN benches print: the arithmetic one training step needs, and the fastest this machine
does fp32 arithmetic, so that every machine reports its own "% of peak".

A training step of a network of convolutions and linear layers costs, per layer, one product for the
forward pass, one for the weight gradient and one for the input gradient (not needed for the first
layer: nothing before it learns). Each product is (outputs x taps x input channels) multiply-adds,
2 FLOP each. Pooling, ReLU, batch norm and the loss are memory-bound and left out: the floor below
counts only arithmetic that cannot be avoided.
"""
import os
import subprocess
import sys
import time

import numpy as np


def training_flop_per_image(model, input_shape=(1, 28, 28)):
    """FLOP of one training step per image for `model`'s Conv2D and Linear layers (shapes found by running
    one image through it with forward hooks)."""
    import digits  # noqa: F401  (before paddle: Pillow's zlib, see digits/__init__.py)
    import paddle

    products = []  # multiply-adds per image, in the order the layers run

    def count(layer, inputs, output):
        if isinstance(layer, paddle.nn.Conv2D):
            out_channels, in_channels, kh, kw = layer.weight.shape
            products.append(int(np.prod(output.shape[2:])) * out_channels * kh * kw * in_channels)
        elif isinstance(layer, paddle.nn.Linear):
            products.append(int(np.prod(layer.weight.shape)))

    hooks = [layer.register_forward_post_hook(count) for layer in model.sublayers()
             if isinstance(layer, (paddle.nn.Conv2D, paddle.nn.Linear))]
    was_training = model.training
    model.eval()
    with paddle.no_grad():
        model(paddle.zeros([1, *input_shape]))
    model.train(was_training)
    for hook in hooks:
        hook.remove()
    forward_and_weight_grads = 2 * sum(products)
    input_grads = sum(products[1:])
    return 2 * (forward_and_weight_grads + input_grads)


def gemm_peak_gflops(threads):
    """The machine's practical fp32 peak, GFLOP/s, with `threads` threads: measure_gemm() run in a fresh
    process whose BLAS threads are set before NumPy loads. Importing Paddle puts OMP_NUM_THREADS=1 in its
    process's environment, and a product measured there runs on one core (README, "Where an epoch goes")."""
    env = {**os.environ, **{name: str(threads) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                             "MKL_NUM_THREADS")}}
    done = subprocess.run([sys.executable, os.path.abspath(__file__)], env=env, capture_output=True, text=True,
                          check=True, timeout=600)
    return float(done.stdout.split()[-1])


def measure_gemm(size=2048, repeats=3, calls=5):
    """The best rate of NumPy's matrix product (OpenBLAS) on size x size fp32 matrices in this process, GFLOP/s."""
    x = np.random.default_rng(0).random((size, size), dtype=np.float32)
    x @ x  # warm-up
    best = 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            x @ x
        best = max(best, calls * 2 * size ** 3 / (time.perf_counter() - started) / 1e9)
    return best


def floor_seconds(flop_per_image, images, peak_gflops):
    """The shortest time `images` training steps' arithmetic can take at the peak rate."""
    return flop_per_image * images / (peak_gflops * 1e9)


if __name__ == "__main__":  # gemm_peak_gflops's fresh process
    print(measure_gemm())
