"""How well trained runs read other people's handwriting: MNIST's test set beside the 1,797 UCI digits
that scikit-learn ships, rendered as photos (digits.handwriting) and read through the app's preprocessing.

    python bench/bench_robustness.py runs/A runs/B ...    # prints the README's robustness table (markdown)

Needs scikit-learn (pip install scikit-learn). The models are never trained on the UCI digits.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the project, run from anywhere

import numpy as np  # noqa: E402

import digits  # noqa: E402,F401  (quiets Paddle's logging; import before paddle)
from digits.data import load_course_data, load_data  # noqa: E402
from digits.errors import run_main  # noqa: E402
from digits.reading import read_images  # noqa: E402
from digits.handwriting import uci_photos  # noqa: E402
from digits.prepare import ensure_datafile  # noqa: E402
from digits.preprocess import to_mnist  # noqa: E402
from digits.runs import Run  # noqa: E402
from digits.training import label_dtype, predict  # noqa: E402
from models import load_trained  # noqa: E402

SETTINGS = ("model", "epochs", "lr_schedule", "shift", "rotate", "scale", "stroke", "aspect", "slant", "elastic",
            "elastic_sigma", "blur")


def recipe(folder):
    config = Run.open(folder).config
    if not config.get("elastic"):  # the field's smoothness means nothing without the field
        config = {name: value for name, value in config.items() if name != "elastic_sigma"}
    return ", ".join(f"{name} {config[name]}" for name in SETTINGS if config.get(name) not in (None, 0, 0.0))


def training_minutes(folder):
    """The run's epochs' own times, added up (train.py's "epoch N done in" lines)."""
    return sum(record["seconds"] for record in Run.open(folder).records("epoch")) / 60


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="run folders written by train.py")
    parser.add_argument("--seed", type=int, default=0, help="places the digits on their pages (default: 0)")
    args = parser.parse_args()

    photos, labels = uci_photos(args.seed)
    print(f"{len(labels)} UCI digits rendered as 64x64 photos (seed {args.seed})")
    print("| run | recipe | training, min | MNIST eval | UCI digits as photos | weakest UCI digits |")
    print("| --- | --- | --- | --- | --- | --- |")
    for folder in args.runs:
        model, loss, trained_on = load_trained(folder)
        datafile = ensure_datafile(trained_on if trained_on and os.path.exists(trained_on) else None)
        pixel_range = load_course_data(datafile).pixel_range
        eval_loader = load_data("eval", 500, image_shape=model.input_shape, label_dtype=label_dtype(loss),
                                datafile=datafile)
        predicted, truth, _ = predict(model, eval_loader, loss)
        mnist = float(np.mean(predicted == truth))
        prepared = np.stack([to_mnist(photo.astype(np.float32), pixel_range) for photo in photos])
        read = np.concatenate([read_images(model, loss, prepared[i:i + 500])[0] for i in range(0, len(prepared), 500)])
        per_digit = np.array([np.mean(read[labels == d] == d) for d in range(10)])
        weakest = ", ".join(f"{d}: {100 * per_digit[d]:.0f}%" for d in np.argsort(per_digit)[:3])
        print(f"| `{folder}` | {recipe(folder)} | {training_minutes(folder):.1f} | {100 * mnist:.2f}% "
              f"| **{100 * np.mean(read == labels):.2f}%** | {weakest} |", flush=True)


if __name__ == "__main__":
    run_main(main)
