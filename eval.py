"""Evaluate a trained run, or read your own digit photos with it.

    python eval.py runs/RUN                      # loss, accuracy, per-class accuracy, confusion matrix
    python eval.py runs/RUN --split valid
    python eval.py runs/RUN --image my_digit.png another.jpg   # and what the network saw: RUN/images.png
    python eval.py runs/lab09/TIME/export       # an exported (static-graph) model works the same way
"""
import argparse
import os

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
from digits.data import load_data
from digits.errors import run_main
from digits.evaluation import data_notes, photo_reference, predict_photos, report
from digits.i18n import add_language_argument, set_language
from digits.prepare import ensure_datafile
from digits.training import label_dtype
from models import load_trained


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="run folder written by train.py, or a model folder exported by lab 09")
    parser.add_argument("--split", default="eval", choices=("valid", "eval"), help="(default: %(default)s)")
    parser.add_argument("--image", nargs="+", metavar="PATH", help="predict these digit photos instead")
    parser.add_argument("--data", help="course data file (default: the one the run was trained on)")
    add_language_argument(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    if args.lang:
        set_language(args.lang)
    model, loss, trained_on = load_trained(args.run)
    known = args.data or (trained_on if trained_on and os.path.exists(trained_on) else None)
    if args.image:
        reference = photo_reference(args.run, known) if not args.data else ensure_datafile(args.data)
        predict_photos(model, loss, args.image, reference, os.path.join(args.run, "images.png"))
    else:
        datafile = ensure_datafile(known)
        for note in data_notes(args.run, datafile):
            print(note)
        loader = load_data(args.split, 500, image_shape=model.input_shape, label_dtype=label_dtype(loss), datafile=datafile)
        report(model, loss, loader, args.split, os.path.join(args.run, f"confusion-{args.split}.png"))


if __name__ == "__main__":
    run_main(main)
