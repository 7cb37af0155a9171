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


def _usable_cores():
    """Cores this process may run on: its CPU affinity, capped by a container's CPU quota (cgroup v2 or v1)
    when there is one, since a 2-CPU notebook container on a 64-core host still sees 64 cores."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    for quota_file, period_file in (("/sys/fs/cgroup/cpu.max", None),
                                    ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us")):
        try:
            with open(quota_file) as f:
                fields = f.read().split()
            if period_file:
                with open(period_file) as f:
                    fields.append(f.read().strip())
            quota, period = fields[0], fields[1]
            if quota not in ("max", "-1"):
                return max(1, min(cores, int(quota) // int(period)))
        except (OSError, ValueError, IndexError):
            continue
    return cores


def _default_threads():
    """One OpenMP thread per usable core, shared out among a distributed launch's local processes."""
    local_processes = int(os.environ.get("PADDLE_LOCAL_SIZE") or os.environ.get("PADDLE_TRAINERS_NUM") or 1)
    return max(1, _usable_cores() // max(1, local_processes))


# Paddle sets OMP_NUM_THREADS=1 when it is unset; the oneDNN convolutions (digits.onednn) scale with cores
# (course CNN: 3,800 img/s on 1 core, 6,300 on 2). Must be set before paddle is imported; a user's value wins.
os.environ.setdefault("OMP_NUM_THREADS", str(_default_threads()))
warnings.filterwarnings("ignore", message="No ccache found")
warnings.filterwarnings("ignore", message="To copy construct from a tensor")  # raised inside paddle.Model
warnings.filterwarnings("ignore", message="When training, we now always track global mean")  # BatchNorm2D's notice

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
