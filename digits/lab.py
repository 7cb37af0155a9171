"""What every lab script shares: its command-line flags and where it writes."""
import argparse
import os

from .cli import add_config_arguments
from .onednn import use_onednn
from .runs import new_run_path


def lab_arguments(doc, epochs):
    """Flags common to the labs: --epochs, --seed and --no-onednn as train.py declares them (TrainConfig),
    and --quick (or LAB_QUICK=1): one epoch, a smoke test, as CI runs the labs."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(parser, names=("epochs", "seed", "onednn"))
    parser.set_defaults(epochs=epochs)
    parser.add_argument("--quick", action="store_true", default=os.environ.get("LAB_QUICK") == "1",
                        help="one epoch only, to check that the lab runs")
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
