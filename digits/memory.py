"""Keep freed memory in the process for the next batch, instead of handing it back to the operating system.

A training step allocates the same large buffers every batch (the course CNN's first convolution writes
100 x 20 x 28 x 28 floats, 6.3 MB). glibc's malloc serves a buffer that size with a fresh mmap, or trims
the heap when it is freed, so every batch the kernel maps new zeroed pages in, and the first write to each
page faults, inside the kernels that write those buffers first (what it cost: README, "Where an epoch goes"). Raising glibc's mmap and trim thresholds keeps the memory of one
step for the next; the process's memory then stays at its peak (what the step needs) instead of
breathing in and out. Elsewhere than glibc (musl's mallopt does nothing, another OS has none) nothing changes.
"""
import ctypes
import sys

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3  # glibc's malloc.h
_MMAP_THRESHOLD = 32 << 20   # glibc's largest: only buffers above 32 MB still get their own mapping
_TRIM_THRESHOLD = 1 << 30    # free memory at the heap's top is returned only beyond 1 GB
_TOP_PAD = 64 << 20          # and the heap grows 64 MB at a time

_kept = False


def keep_freed_memory():
    """Tune glibc's malloc once for a training process (see the module's docstring)."""
    global _kept
    if _kept or not sys.platform.startswith("linux"):
        return
    _kept = True
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    for parameter, value in ((_M_MMAP_THRESHOLD, _MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, _TRIM_THRESHOLD),
                             (_M_TOP_PAD, _TOP_PAD)):
        mallopt(parameter, value)
