"""Train a digit recogniser on the course's MNIST file.

    python train.py                                   # the course's best CNN classifier (Adam, 5 epochs)
    python train.py --preset minute                   # the same CNN to >= 99% eval accuracy in under a minute
    python train.py --preset best                     # a wider CNN to >= 99.5% in under 10 minutes
    python train.py --model mlp --loss mse --optimizer sgd --lr 0.01 --epochs 10
    python train.py --resume runs/RUN                 # continue a run from its last finished epoch
    python train.py --compare runs/A runs/B           # overlay earlier runs' loss curves in one PNG
    python -m paddle.distributed.launch --nproc_per_node 2 train.py    # data-parallel, 2 processes

Each run writes a folder under runs/ with config.json, metrics.jsonl, model.pdparams, model.pdopt
and loss.png. The data file work/mnist.json.gz is built on first use, from --source DIR (or the
MNIST_SOURCE environment variable) when given, else by downloading MNIST.
"""
import argparse
from dataclasses import fields

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
from digits.devices import DEVICES
from digits.errors import run_main
from digits.plots import plot_runs
from digits.runs import Run
from digits.training import LOSSES, OPTIMIZERS, SCHEDULES, TrainConfig, fit
from models import MODELS

defaults = TrainConfig()

# Named settings for --preset (flags given beside it still win). Measured on a 2-core CPU: README, "CPU speed".
PRESETS = {
    # the course CNN unchanged; a one-cycle schedule and 1-pixel shifts reach 99% in 4 epochs (Adam 0.003
    # decaying polynomially, without shifts, needed 6)
    "minute": {"lr": 0.005, "lr_schedule": "onecycle", "shift": 1, "epochs": 4},
    # models/wide_cnn.py (32 and 64 channels, batch norm, a hidden layer), shifts and turns, one cycle
    "best": {"model": "wide_cnn", "lr": 0.003, "lr_schedule": "onecycle", "shift": 2, "rotate": 10, "epochs": 20},
}


def as_flags(values):
    return " ".join(f"--{name.replace('_', '-')} {value}" for name, value in values.items())


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=sorted(PRESETS),
                        help="; ".join(f"{name}: {as_flags(values)}" for name, values in PRESETS.items()))
    parser.add_argument("--model", default=defaults.model, help=f"one of {', '.join(sorted(MODELS))} (default: %(default)s)")
    parser.add_argument("--loss", default=defaults.loss, choices=LOSSES, help="mse regresses the digit; ce and sigmoid_ce classify it (default: %(default)s)")
    parser.add_argument("--optimizer", default=defaults.optimizer, choices=OPTIMIZERS, help="(default: %(default)s)")
    parser.add_argument("--lr", type=float, default=defaults.lr, help="learning rate (default: %(default)s)")
    parser.add_argument("--lr-schedule", default=defaults.lr_schedule, choices=SCHEDULES,
                        help="polynomial decays the rate to lr/10 over the run, every batch (default: %(default)s)")
    parser.add_argument("--epochs", type=int, help=f"(default: {defaults.epochs}; with --resume, the run's own)")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="(default: %(default)s)")
    parser.add_argument("--shift", type=int, default=defaults.shift, metavar="PIXELS",
                        help="augment: move each training image by up to this many pixels, anew every epoch (default: %(default)s)")
    parser.add_argument("--rotate", type=float, default=defaults.rotate, metavar="DEGREES",
                        help="augment: turn each training image by up to this many degrees, anew every epoch (default: %(default)s)")
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay, help="L2 penalty coefficient (default: %(default)s)")
    parser.add_argument("--grad-clip", type=float, default=defaults.grad_clip, help="clip the gradient's global norm to this; 0 is off (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="fixes Python, NumPy and Paddle randomness (default: %(default)s)")
    parser.add_argument("--log-interval", type=int, default=defaults.log_interval, help="batches between loss lines (default: %(default)s)")
    parser.add_argument("--device", default=defaults.device, help=f"{DEVICES} (default: %(default)s)")
    parser.add_argument("--debug-batch", type=int, metavar="N", help="print layer shapes on the first batch, weights and outputs at batch N")
    parser.add_argument("--no-onednn", dest="onednn", action="store_false", default=None,
                        help="conv layers on Paddle's own kernels, as the course ran them (default: oneDNN's, ~6x faster)")
    parser.add_argument("--visualdl", action="store_true", help="also log for VisualDL (pip install visualdl; view: visualdl --logdir RUN/visualdl -L en)")
    parser.add_argument("--out", help="run folder to create (default: runs/<time>-<model>-<loss>-<optimizer>)")
    parser.add_argument("--data", help="course data file (default: work/mnist.json.gz, or MNIST_JSON)")
    parser.add_argument("--source", help="folder with the four MNIST .gz files, used to build a missing data file")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue this run from its last checkpoint (--epochs may extend it)")
    parser.add_argument("--stop-after", type=int, metavar="N", help="stop after epoch N of the run's schedule; --resume continues it")
    parser.add_argument("--compare", nargs="+", metavar="RUN_DIR", help="overlay these runs' loss curves instead of training")
    parser.add_argument("--compare-out", default="runs/compare.png", help="where --compare writes its PNG (default: %(default)s)")
    parser.add_argument("--log-scale", action="store_true", help="--compare with a logarithmic loss axis")
    preset = parser.parse_known_args()[0].preset
    if preset:
        parser.set_defaults(**PRESETS[preset])
    return parser.parse_args()


def main():
    args = parse_args()
    if args.compare:
        path = plot_runs([Run.open(d) for d in args.compare], args.compare_out, "train loss", logy=args.log_scale)
        print(f"wrote {path}")
        return
    if args.resume:
        saved = Run.open(args.resume).config
        # a resumed run keeps its settings; only a longer --epochs (or another device) may be asked for
        config = TrainConfig(**{**saved, "epochs": args.epochs or saved["epochs"], "device": args.device})
        return fit(config, resume=args.resume, stop_after=args.stop_after)
    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig)}
    fit(TrainConfig(**{**values, "epochs": args.epochs or defaults.epochs}), stop_after=args.stop_after)


if __name__ == "__main__":
    run_main(main)
