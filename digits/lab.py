"""What every lab script shares: its command-line flags and where it writes."""
import argparse
import os

from .onednn import use_onednn
from .runs import new_run_path


def lab_arguments(doc, epochs):
    """Flags common to the labs. --quick (or LAB_QUICK=1) runs one epoch: a smoke test, as CI does."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=epochs, help="(default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="(default: %(default)s)")
    parser.add_argument("--quick", action="store_true", default=os.environ.get("LAB_QUICK") == "1",
                        help="one epoch only, to check that the lab runs")
    parser.add_argument("--no-onednn", dest="onednn", action="store_false",
                        help="conv layers on Paddle's own kernels, as the course ran them (default: oneDNN's)")
    return parser


def parse_lab_arguments(parser):
    args = parser.parse_args()
    use_onednn(args.onednn)
    if args.quick:
        args.epochs = 1
    return args


def lab_folder(lab):
    """A new folder runs/<lab>/<time> for this run of the lab's figures and runs."""
    path = new_run_path(os.path.join("runs", lab), "run")
    os.makedirs(path, exist_ok=True)
    return path
