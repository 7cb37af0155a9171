"""Rebuild pretrained/robust/, the model that comes with the project: the app's default (python app.py).

    python pretrained/build.py                    # train it with RECIPE (about 20 minutes on 2 cores), export, measure
    python pretrained/build.py --run runs/RUN     # export and measure a run trained before with RECIPE

pretrained/robust/ holds only files that loading cannot execute code from (a pickle can; these cannot):
- model.npz: the weights, plain float32 arrays (read with numpy.load(..., allow_pickle=False));
- config.json: the run's settings, with what rebuilding the network takes (models/, build_model);
- training_means.npz: the training data's pixel range and each digit's mean image: what reading a photo needs,
  so the app reads a digit without the course file;
- card.json and README.md: the command that trained it, and what it measured on MNIST's 10,000 test digits
  and on the 1,797 UCI digits rendered as photos (digits.handwriting; it never trained on them).
`tests/test_pretrained.py` checks that the weights load and still measure what card.json says.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import time

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, PROJECT)  # the project, run from anywhere

import numpy as np  # noqa: E402

import digits  # noqa: E402,F401  (quiets Paddle's logging; import before paddle)
from digits.data import load_course_data, load_data  # noqa: E402
from digits.errors import UserError, run_main  # noqa: E402
from digits.evaluation import MEANS_FILE  # noqa: E402
from digits.fileio import write_text  # noqa: E402
from digits.handwriting import uci_accuracy  # noqa: E402
from digits.prepare import ensure_datafile  # noqa: E402
from digits.reading import class_means  # noqa: E402
from digits.runs import WEIGHTS_FILE, Run, save_weights  # noqa: E402
from digits.training import label_dtype, predict  # noqa: E402
from models import load_trained  # noqa: E402

TARGET = os.path.join(PROJECT, "pretrained", "robust")
RECIPE = ["--preset", "robust"]  # train.py's flags for the shipped model (the preset says what they mean)


def train(folder):
    """Train the recipe into `folder` with train.py, as a user would."""
    command = [sys.executable, os.path.join(PROJECT, "train.py"), *RECIPE, "--out", folder]
    print("training:", " ".join(os.path.relpath(c, PROJECT) if c.startswith(PROJECT) else c for c in command[1:]))
    if subprocess.run(command, cwd=PROJECT).returncode != 0:
        raise UserError("training failed (its output is above); nothing was written to pretrained/")


def measure(model, loss, pixel_range, datafile):
    """Accuracy on MNIST's 10,000 test digits, on the UCI digits as photos, and per UCI digit."""
    loader = load_data("eval", 500, image_shape=model.input_shape, label_dtype=label_dtype(loss), datafile=datafile)
    predicted, truth, _ = predict(model, loader, loss)
    uci, per_digit = uci_accuracy(model, loss, pixel_range)
    return {"mnist_eval": float(np.mean(predicted == truth)), "mnist_eval_images": int(len(truth)),
            "uci_photos": uci, "uci_per_digit": [round(float(share), 4) for share in per_digit]}


def card_text(card):
    measured = card["measured"]
    weakest = sorted(range(10), key=lambda d: measured["uci_per_digit"][d])[:3]
    rows = ["| MNIST eval (10,000 test digits) | UCI digits as photos (1,797) | weakest UCI digits |",
            "| --- | --- | --- |",
            f"| {100 * measured['mnist_eval']:.2f}% | {100 * measured['uci_photos']:.2f}% | "
            + ", ".join(f"{d}: {100 * measured['uci_per_digit'][d]:.0f}%" for d in weakest) + " |"]
    return "\n".join([
        "# pretrained/robust: the model that comes with the project",
        "",
        "The app's default model (`python app.py`); `python eval.py pretrained/robust --image photo.png` reads a "
        "photo with it. Rebuilt by `python pretrained/build.py` (see its docstring), which trains it with",
        "",
        f"    python train.py {' '.join(card['recipe'])}",
        "",
        f"({card['model']}, {card['parameters']:,} parameters; the preset's settings: `python train.py --help`). "
        f"Trained {card['trained']} on {card['machine']}, in {card['training_minutes']:.0f} minutes of epochs. "
        f"Measured:",
        "",
        *rows,
        "",
        "Every file here is plain data: loading it cannot run code (no pickle). `tests/test_pretrained.py` checks "
        "that the weights load and measure the same again.",
        ""])


def export(run, target=TARGET):
    """Write pretrained/robust/ from a trained run folder; returns the card."""
    model, loss, trained_on = load_trained(run)
    config = Run.open(run).config
    datafile = ensure_datafile(trained_on if trained_on and os.path.exists(trained_on) else None)
    pixel_range = load_course_data(datafile).pixel_range
    started = time.perf_counter()
    measured = measure(model, loss, pixel_range, datafile)
    print(f"measured in {time.perf_counter() - started:.0f} s: MNIST eval {100 * measured['mnist_eval']:.2f}%, "
          f"UCI digits as photos {100 * measured['uci_photos']:.2f}%")
    os.makedirs(target, exist_ok=True)
    save_weights(model, os.path.join(target, WEIGHTS_FILE))
    with open(os.path.join(target, MEANS_FILE + ".tmp"), "wb") as f:
        np.savez(f, pixel_range=np.array(pixel_range, np.float32), means=class_means(datafile).astype(np.float32))
    os.replace(os.path.join(target, MEANS_FILE + ".tmp"), os.path.join(target, MEANS_FILE))
    # the path and content hash of the file it was trained on mean nothing on another machine
    shipped = {**config, "out": None, "data": None, "data_key": None}
    write_text(os.path.join(target, "config.json"), json.dumps(shipped, indent=2) + "\n")
    from tools.report import describe, machine  # the report's words for a machine
    epochs = Run.open(run).records("epoch")
    card = {"recipe": RECIPE, "model": config["model"], "parameters": int(sum(p.size for p in model.parameters())),
            "trained": datetime.date.fromtimestamp(os.path.getmtime(os.path.join(run, "config.json"))).isoformat(),
            "machine": describe(machine()), "paddle": machine()["paddle"],
            "training_minutes": sum(e["seconds"] for e in epochs) / 60, "measured": measured}
    write_text(os.path.join(target, "card.json"), json.dumps(card, indent=1) + "\n")
    write_text(os.path.join(target, "README.md"), card_text(card))
    size = sum(os.path.getsize(os.path.join(target, name)) for name in os.listdir(target))
    print(f"wrote {os.path.relpath(target, PROJECT)}/ ({size / 1e6:.2f} MB)")
    return card


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", help="a run folder trained with RECIPE (default: train a new one first)")
    args = parser.parse_args()
    run = args.run or os.path.join(PROJECT, "runs", "pretrained-robust-" + time.strftime("%Y%m%d-%H%M%S"))
    if not args.run:
        train(run)
    export(run)


if __name__ == "__main__":
    run_main(main)
