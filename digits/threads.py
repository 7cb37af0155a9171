"""How many threads Paddle's CPU kernels use: the project's one thread policy.

Paddle's own default is one thread, and importing paddle sets OMP_NUM_THREADS=1 in the process's environment.
When the project trains (digits.training.fit, with or without --no-onednn) or its oneDNN layers are in use
(digits.onednn.accelerate), it gives Paddle one thread per usable core instead, shared out among a distributed launch's local processes, unless the user chose a number by
setting OMP_NUM_THREADS before starting Python (digits.USER_THREADS remembers whether they did).
"""
import os

import paddle

import digits

if digits.USER_THREADS is None:
    # Importing paddle set OMP_NUM_THREADS=1 in this process's environment; a child process (train.py run
    # by a lab, a distributed launch) would take that for the user's choice and pick other thread counts.
    os.environ.pop("OMP_NUM_THREADS", None)

_threads_set = None


def use_all_cores():
    """Give Paddle default_threads() threads, once, unless the user set OMP_NUM_THREADS."""
    global _threads_set
    if _threads_set is None and digits.USER_THREADS is None:
        _threads_set = default_threads()
        paddle.base.core.set_num_threads(_threads_set)


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


def default_threads():
    """One OpenMP thread per usable core, shared out among a distributed launch's local processes."""
    local_processes = int(os.environ.get("PADDLE_LOCAL_SIZE") or os.environ.get("PADDLE_TRAINERS_NUM") or 1)
    return max(1, _usable_cores() // max(1, local_processes))


def math_threads():
    """How many threads Paddle's CPU kernels use in this process (so paddle.inference can use as many)."""
    return _threads_set or int(os.environ.get("OMP_NUM_THREADS") or 1)
