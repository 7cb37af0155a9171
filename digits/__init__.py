"""Shared code for the handwritten-digit course labs: data, training loop, plots, checkpoints.

Importing this package first loads Pillow before Paddle (see below) and keeps Paddle quiet: its C++ INFO
lines and the ccache warning are noise for a student, so they are silenced unless the user asks for them.
"""
import os
import warnings

os.environ.setdefault("GLOG_minloglevel", "2")  # C++ glog: warnings and errors only
# The NumPy labs multiply small matrices; a second OpenBLAS thread mostly spins waiting for a core
# (measured 10x slower epochs on a busy 2-core machine). Read when NumPy loads, so import digits first.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# Paddle sets OMP_NUM_THREADS=1 at import when it is unset; remember whether the user chose a number:
# if not, digits.onednn gives its kernels one thread per core.
USER_THREADS = os.environ.get("OMP_NUM_THREADS")
warnings.filterwarnings("ignore", message="No ccache found")
warnings.filterwarnings("ignore", message="To copy construct from a tensor")  # raised inside paddle.Model
warnings.filterwarnings("ignore", message="When training, we now always track global mean")  # BatchNorm2D's notice

# Paddle 2.6 exports its own zlib; when paddle is imported first, Pillow's PNG writer can bind to it and
# crash (segfault) saving a figure. Loading Pillow's C extension first keeps it on the system zlib.
import PIL.Image  # noqa: F401,E402

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
