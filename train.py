"""Train a digit recogniser on the course's MNIST file.

    python train.py                                   # the course's best CNN classifier (Adam, 5 epochs)
    python train.py --preset minute                   # the same CNN to >= 99% eval accuracy in under a minute
    python train.py --preset best                     # a wider CNN to >= 99.5% in under 10 minutes
    python train.py --preset robust --out runs/robust # the same, also reading other people's handwriting: app.py
    python train.py --model mlp --loss mse --optimizer sgd --lr 0.01 --epochs 10
    python train.py --resume runs/RUN                 # continue a run from its last finished epoch
    python train.py --compare runs/A runs/B           # overlay earlier runs' loss curves in one PNG
    python -m paddle.distributed.launch --nproc_per_node 2 train.py    # data-parallel, 2 processes

Each run writes a folder under runs/ with config.json, metrics.jsonl, checkpoints/epoch-NNNN/
(weights, optimizer and random state, verified by a manifest) and loss.png. The data file
work/mnist.json.gz is built on first use, from --source DIR (or the MNIST_SOURCE environment
variable) when given, else by downloading MNIST.
"""
import argparse

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
from digits.cli import add_config_arguments, checked
from digits.errors import UserError, run_main
from digits.i18n import add_language_argument, set_language
from digits.plots import plot_runs
from digits.runs import Run
from digits.training import TrainConfig, at_least, fit
from models import MODELS, maker

# Named settings for --preset (flags given beside it still win). What they reach: README, "CPU speed".
PRESETS = {
    # the course CNN (its stages fused, as in every run), a one-cycle schedule, 1-pixel shifts
    "minute": {"model": "cnn", "lr": 0.005, "lr_schedule": "onecycle", "shift": 1, "epochs": 4},
    # models/wide_cnn.py (32 and 64 channels, batch norm, a hidden layer), shifts and turns, one cycle
    "best": {"model": "wide_cnn", "lr": 0.003, "lr_schedule": "onecycle", "shift": 2, "rotate": 10, "epochs": 20},
    # "best" taught other writers' pens and sizes too (thicker or thinner strokes, scaling): the app's model
    # (README, "Draw a digit")
    "robust": {"model": "wide_cnn", "lr": 0.003, "lr_schedule": "onecycle", "shift": 2, "rotate": 10, "scale": 0.2,
               "stroke": 0.7, "epochs": 20},
}
# What a resumed run may change: how long it trains and where.
RESUMABLE = ("epochs", "device")


def as_flags(values):
    return " ".join(f"--{name.replace('_', '-')} {value}" for name, value in values.items())


def build_parser(defaults=True):
    """train.py's flags: TrainConfig's fields (digits.cli), then the ones that are not a run's settings."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = (lambda value: value) if defaults else (lambda value: argparse.SUPPRESS)
    parser.add_argument("--preset", choices=sorted(PRESETS), default=default(None),
                        help="; ".join(f"{name}: {as_flags(values)}" for name, values in PRESETS.items()))
    add_config_arguments(parser, defaults=defaults)
    parser.add_argument("--resume", metavar="RUN_DIR", default=default(None),
                        help="continue this run from its last checkpoint (--epochs may extend it)")
    parser.add_argument("--stop-after", type=checked(int, at_least(1), "--stop-after"), metavar="N",
                        default=default(None), help="stop after epoch N of the run's schedule; --resume continues it")
    parser.add_argument("--compare", nargs="+", metavar="RUN_DIR", default=default(None),
                        help="overlay these runs' loss curves instead of training")
    parser.add_argument("--compare-out", default=default("runs/compare.png"),
                        help="where --compare writes its PNG (default: runs/compare.png)")
    parser.add_argument("--log-scale", action="store_true", default=default(False),
                        help="--compare with a logarithmic loss axis")
    add_language_argument(parser, default(None))
    return parser


def parse_args():
    parser = build_parser()
    parser.epilog = f"models: {', '.join(sorted(MODELS))}"
    preset = parser.parse_known_args()[0].preset
    if preset:
        parser.set_defaults(**PRESETS[preset])
    args = parser.parse_args()
    args.given = vars(build_parser(defaults=False).parse_args())  # only the flags on the command line
    return args


def resumed_config(args):
    """The run's own settings; a flag that would change one of them is refused by name, not ignored."""
    saved = Run.open(args.resume).config
    settings = {name: saved[name] for name in TrainConfig.__dataclass_fields__ if name in saved}
    conflicts = [f"--{name.replace('_', '-')} {value} (the run has {settings.get(name)})"
                 for name, value in args.given.items()
                 if name in settings and name not in RESUMABLE and value != settings.get(name)]
    if args.given.get("preset"):
        conflicts.append(f"--preset {args.given['preset']}")
    if conflicts:
        raise UserError(f"--resume continues {args.resume} with its own settings; drop {', '.join(conflicts)}, "
                        f"or start a new run with them")
    try:
        return TrainConfig(**{**settings, **{name: args.given[name] for name in RESUMABLE if name in args.given}})
    except (TypeError, ValueError, UserError) as error:  # a value train.py does not write (an edited config.json)
        raise UserError(f"{args.resume}/config.json holds a setting train.py does not write ({error}): put the "
                        f"file back as train.py wrote it, or start a new run") from None


def main():
    args = parse_args()
    if args.lang:
        set_language(args.lang)
    if args.compare:
        runs = [Run.open(d) for d in args.compare]
        try:
            path = plot_runs(runs, args.compare_out, "train loss", logy=args.log_scale)
        except OSError as error:
            raise UserError(f"cannot write {args.compare_out} ({error.strerror or error}): pass --compare-out a "
                            f"path in a folder you can write") from None
        print(f"wrote {path}")
        return
    if args.resume:
        config = resumed_config(args)
        return fit(config, maker(config), resume=args.resume, stop_after=args.stop_after)
    config = TrainConfig(**{name: getattr(args, name) for name in TrainConfig.__dataclass_fields__})
    fit(config, maker(config), stop_after=args.stop_after)


if __name__ == "__main__":
    run_main(main)
