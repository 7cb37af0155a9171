"""Where training runs: the device choice, and data-parallel training across processes.

Data-parallel runs are started by Paddle's launcher, which sets each process's rank:

    python -m paddle.distributed.launch --nproc_per_node 2 train.py ...     # 2 CPU processes (gloo)
    python -m paddle.distributed.launch --devices 0,1 train.py --device gpu # 2 GPUs
"""
import paddle
import paddle.distributed as dist

from .errors import UserError

DEVICES = "cpu, gpu, gpu:N or auto"


def select_device(name="auto"):
    """Set Paddle's device; 'auto' takes a GPU when this Paddle build and machine have one, else the CPU."""
    has_gpu = paddle.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0
    if name == "auto":
        name = "gpu" if has_gpu else "cpu"
    elif name.startswith("gpu"):
        if not paddle.is_compiled_with_cuda():
            raise UserError(f"--device {name}: this Paddle build is CPU-only (no CUDA): use --device cpu or auto, "
                            f"or install the paddlepaddle-gpu wheel")
        if not has_gpu:
            raise UserError(f"--device {name}: no GPU is visible on this machine: use --device cpu or auto")
    elif name != "cpu":
        raise UserError(f"unknown device {name!r}: choose {DEVICES}")
    try:
        paddle.set_device(name)
    except ValueError as e:
        raise UserError(f"--device {name}: {e}") from None
    return name


def world():
    """(rank, number of processes): (0, 1) unless started by paddle.distributed.launch."""
    return dist.get_rank(), dist.get_world_size()


def parallel(model):
    """Join the process group and wrap `model` so gradients are averaged across processes.

    DataParallel also copies rank 0's initial weights to every rank, so all ranks start alike.
    """
    if dist.get_world_size() == 1:
        return model
    dist.init_parallel_env()
    return paddle.DataParallel(model)
