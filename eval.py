"""Evaluate a trained run, or read your own digit photos with it.

    python eval.py runs/RUN                      # loss, accuracy, per-class accuracy, confusion matrix
    python eval.py runs/RUN --split valid
    python eval.py runs/RUN --image my_digit.png another.jpg
"""
import argparse
import os

import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
import paddle.nn.functional as F
from digits.data import load_course_data, load_data
from digits.errors import run_main
from digits.plots import plot_confusion, plot_digits
from digits.prepare import ensure_datafile
from digits.preprocess import load_digit
from digits.runs import MODEL_FILE, Run, load_weights
from digits.training import label_dtype, num_outputs, predict, to_digits
from models import build_model


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="run folder written by train.py")
    parser.add_argument("--split", default="eval", choices=("valid", "eval"), help="(default: %(default)s)")
    parser.add_argument("--image", nargs="+", metavar="PATH", help="predict these digit photos instead")
    parser.add_argument("--data", help="course data file (default: the one the run was trained on)")
    return parser.parse_args()


def main():
    args = parse_args()
    run = Run.open(args.run)
    config = run.config
    model = load_weights(build_model(config["model"], num_outputs(config["loss"])), run.file(MODEL_FILE))
    model.eval()
    datafile = ensure_datafile(args.data or (config["data"] if os.path.exists(config["data"]) else None))
    if args.image:
        predict_images(model, config["loss"], args.image, load_course_data(datafile).pixel_range, run)
    else:
        report(model, config["loss"], args.split, datafile, run)


def report(model, loss, split, datafile, run):
    loader = load_data(split, 500, image_shape=model.input_shape, label_dtype=label_dtype(loss), datafile=datafile)
    predicted, truth, mean_loss = predict(model, loader, loss)
    print(f"{split}: {len(truth)} images, {'MSE' if loss == 'mse' else 'loss'} {mean_loss:.4f}, "
          f"accuracy {100 * np.mean(predicted == truth):.2f}%")
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (truth, predicted), 1)
    for digit in range(10):
        total = confusion[digit].sum()
        share = confusion[digit, digit] / total if total else float("nan")
        print(f"  digit {digit}: {100 * share:6.2f}%  of {total}")
    print(f"wrote {plot_confusion(confusion, run.file(f'confusion-{split}.png'), f'{split} confusion matrix')}")


@paddle.no_grad()
def predict_images(model, loss, paths, pixel_range, run):
    images = np.stack([load_digit(path, pixel_range) for path in paths])
    outputs = model(paddle.to_tensor(images.reshape(-1, *model.input_shape)))
    predicted = to_digits(loss, outputs)
    if loss == "mse":
        details = [f"regressed value {value:.2f}" for value in outputs.numpy()[:, 0]]
    else:
        details = [f"probability {100 * p:.1f}%" for p in F.softmax(outputs).numpy().max(axis=1)]
    for path, digit, detail in zip(paths, predicted, details):
        print(f"{path}: {digit} ({detail})")
    print(f"wrote {plot_digits(images, predicted, run.file('images.png'), 'what the model saw, and its answer')}")


if __name__ == "__main__":
    run_main(main)
