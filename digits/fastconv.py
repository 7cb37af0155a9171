"""Faster drop-in replacements for the course CNN's Conv2D and MaxPool2D on Paddle CPU.

Both classes subclass the Paddle layer they replace, so parameters (names, shapes, default
initialisers), state_dict keys and checkpoints are identical; only `forward` differs, and it is
built from ordinary Paddle ops, so gradients come from Paddle's autograd.

* GemmConv2D: im2col with F.unfold, then ONE large matmul over the whole batch
  (weight[out, C*k*k] @ cols[C*k*k, B*L]) instead of Paddle's CPU kernel, which runs a small
  im2col + GEMM per sample. Measured on 2 shared cores (bench/bench_cnn_speed.py, scratch runs):
  for conv1 (1->20, k5, 28x28, batch 100, input needs no grad) forward+backward ~2x faster than
  nn.Conv2D; for conv2 (20->20 on 14x14) it is ~2.5x SLOWER, because the unfolded matrix is 25x
  the input and Paddle's unfold/transpose/fold kernels are memory-bound and slow.
  conv2d_layer(fast=True) therefore picks GemmConv2D only where it wins (small C*k*k).
* FastMaxPool2D: F.max_pool2d(..., return_mask=True); its backward scatters through the saved
  argmax mask instead of re-scanning every window (pool2d_grad). Same forward, same gradient
  (first maximum of a window, ties included); ~1.4-1.7x faster forward+backward.

Usage in a model:
    from digits.fastconv import conv2d_layer, maxpool_layer
    self.conv1 = conv2d_layer(1, 20, 5, stride=1, padding=2, fast=True)
    self.pool1 = maxpool_layer(2, 2, fast=True)
"""
import paddle
import paddle.nn.functional as F

__all__ = ["GemmConv2D", "FastMaxPool2D", "conv2d_layer", "maxpool_layer", "prefers_gemm"]

# GemmConv2D beats Paddle's conv kernel when the unfolded column matrix is small (measured: C*k*k = 25
# wins ~2x, C*k*k = 500 loses ~2.5x). Between those the crossover was not measured; stay on Paddle's kernel.
GEMM_MAX_COLUMN_ROWS = 64


def _pair(value, name):
    if isinstance(value, int):
        return (value, value)
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return value


class GemmConv2D(paddle.nn.Conv2D):
    """Conv2D (NCHW, groups=1, dilation=1, zero padding) as unfold + one batch-wide matmul.

    Same constructor arguments, parameters and state_dict as paddle.nn.Conv2D(in, out, k, stride, padding).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding)
        self._gemm_kernel = _pair(kernel_size, "kernel_size")
        self._gemm_stride = _pair(stride, "stride")
        self._gemm_padding = _pair(padding, "padding")

    def forward(self, x):
        batch, channels, height, width = x.shape
        (kh, kw), (sh, sw), (ph, pw) = self._gemm_kernel, self._gemm_stride, self._gemm_padding
        out_h = (height + 2 * ph - kh) // sh + 1
        out_w = (width + 2 * pw - kw) // sw + 1
        out_channels = self.weight.shape[0]
        cols = F.unfold(x, [kh, kw], strides=[sh, sw], paddings=[ph, pw])      # [B, C*kh*kw, L]
        cols = cols.transpose([1, 0, 2]).reshape([channels * kh * kw, -1])     # [C*kh*kw, B*L]
        out = paddle.matmul(self.weight.reshape([out_channels, -1]), cols)    # [out, B*L]
        if self.bias is not None:
            out = out + self.bias.reshape([out_channels, 1])
        out = out.reshape([out_channels, batch, out_h, out_w]).transpose([1, 0, 2, 3])
        return out.contiguous()


class FastMaxPool2D(paddle.nn.MaxPool2D):
    """MaxPool2D (NCHW) whose backward goes through the saved argmax mask; same output and gradient."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__(kernel_size, stride=stride, padding=padding)

    def forward(self, x):
        out, _mask = F.max_pool2d(x, self.ksize, self.stride, self.padding, return_mask=True)
        return out


def prefers_gemm(in_channels, kernel_size):
    """True where GemmConv2D measured faster than paddle.nn.Conv2D (small unfolded column matrix)."""
    kh, kw = _pair(kernel_size, "kernel_size")
    return in_channels * kh * kw <= GEMM_MAX_COLUMN_ROWS


def conv2d_layer(in_channels, out_channels, kernel_size, stride=1, padding=0, fast=True):
    """The conv layer a model should use. fast=False: paddle.nn.Conv2D. fast=True: the faster of GemmConv2D
    and paddle.nn.Conv2D for this shape (GemmConv2D for the course's conv1, nn.Conv2D for its conv2).
    fast="gemm" forces GemmConv2D. Parameters and checkpoints are the same whichever is returned."""
    if fast == "gemm" or (fast and prefers_gemm(in_channels, kernel_size)):
        return GemmConv2D(in_channels, out_channels, kernel_size, stride=stride, padding=padding)
    return paddle.nn.Conv2D(in_channels, out_channels, kernel_size, stride=stride, padding=padding)


def maxpool_layer(kernel_size, stride=None, fast=True):
    """FastMaxPool2D (fast=True) or paddle.nn.MaxPool2D; same output and gradients, no parameters."""
    if fast:
        return FastMaxPool2D(kernel_size, stride=stride)
    return paddle.nn.MaxPool2D(kernel_size, stride=stride)
