"""Train a digit recogniser on the course's MNIST file.

    python train.py                                   # the course's best CNN classifier (Adam, 5 epochs)
    python train.py --model mlp --loss mse --optimizer sgd --lr 0.01 --epochs 10
    python train.py --compare runs/A runs/B           # overlay earlier runs' loss curves in one PNG

Each run writes a folder under runs/ with config.json, metrics.jsonl, model.pdparams, model.pdopt
and loss.png. The data file work/mnist.json.gz is built on first use, from --source DIR (or the
MNIST_SOURCE environment variable) when given, else by downloading MNIST.
"""
import argparse

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
from digits.errors import run_main
from digits.plots import plot_runs
from digits.runs import Run
from digits.training import LOSSES, OPTIMIZERS, TrainConfig, fit
from models import MODELS

defaults = TrainConfig()


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=defaults.model, help=f"one of {', '.join(sorted(MODELS))} (default: %(default)s)")
    parser.add_argument("--loss", default=defaults.loss, choices=LOSSES, help="mse regresses the digit, ce classifies it (default: %(default)s)")
    parser.add_argument("--optimizer", default=defaults.optimizer, choices=OPTIMIZERS, help="(default: %(default)s)")
    parser.add_argument("--lr", type=float, default=defaults.lr, help="learning rate (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help="(default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="(default: %(default)s)")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="fixes Python, NumPy and Paddle randomness (default: %(default)s)")
    parser.add_argument("--log-interval", type=int, default=defaults.log_interval, help="batches between loss lines (default: %(default)s)")
    parser.add_argument("--out", help="run folder to create (default: runs/<time>-<model>-<loss>-<optimizer>)")
    parser.add_argument("--data", help="course data file (default: work/mnist.json.gz, or MNIST_JSON)")
    parser.add_argument("--source", help="folder with the four MNIST .gz files, used to build a missing data file")
    parser.add_argument("--compare", nargs="+", metavar="RUN_DIR", help="overlay these runs' loss curves instead of training")
    parser.add_argument("--compare-out", default="runs/compare.png", help="where --compare writes its PNG (default: %(default)s)")
    return parser.parse_args()


def main():
    args = parse_args()
    if args.compare:
        path = plot_runs([Run.open(d) for d in args.compare], args.compare_out, "train loss")
        print(f"wrote {path}")
        return
    config = TrainConfig(model=args.model, loss=args.loss, optimizer=args.optimizer, lr=args.lr, epochs=args.epochs,
                         batch_size=args.batch_size, seed=args.seed, log_interval=args.log_interval, out=args.out,
                         data=args.data, source=args.source)
    fit(config)


if __name__ == "__main__":
    run_main(main)
