"""Shared code for the handwritten-digit course labs: data, training loop, plots, checkpoints.

Importing this package first keeps Paddle quiet: its C++ INFO lines and the ccache warning
are noise for a student, so they are silenced unless the user asks for them.
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

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
