"""Figures the labs draw: loss curves (one run or several overlaid), digit grids, a confusion matrix."""
import os

import matplotlib

matplotlib.use("Agg")  # files only: the labs run on servers and in CI without a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .fileio import atomic_path  # noqa: E402


def save(fig, path):
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_curves(curves, path, title, xlabel="iteration (batches)", ylabel="train loss", logy=False):
    """Overlay curves given as {label: (xs, ys)} in one PNG."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, (xs, ys) in curves.items():
        ax.plot(xs, ys, label=label, marker="." if len(xs) < 40 else None)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    return save(fig, path)


def loss_curve(run):
    """A run's logged train loss as (steps, losses): each point is the mean over one logging window."""
    records = run.records("batch")
    return [r["step"] for r in records], [r["window_loss"] for r in records]


def plot_runs(runs, path, title="train loss", labels=None, logy=False):
    """Overlay the loss curves of several runs: how a student compares, say, the MLP and the CNN."""
    labels = labels or [run_label(run) for run in runs]
    if len(set(labels)) < len(labels):  # runs that differ in something the label omits: name their folders
        labels = [f"{label} ({os.path.basename(os.path.normpath(run.path))})" for label, run in zip(labels, runs)]
    return plot_curves({label: loss_curve(run) for label, run in zip(labels, runs)}, path, title, logy=logy)


def run_label(run):
    c = run.config
    extras = [f"{name}={c[key]:g}" for key, name in (("grad_clip", "clip"), ("weight_decay", "L2")) if c.get(key)]
    return " ".join([c["model"], c["loss"], c["optimizer"], f"lr={c['lr']:g}", *extras])


def plot_train_valid(run, path, title):
    """Loss and accuracy against iterations: train (each logging window) and valid (each epoch's end)."""
    batches, epochs = run.records("batch"), run.records("epoch")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        ax.plot([r["step"] for r in batches], [r[f"window_{metric}"] for r in batches], label="train", alpha=0.8,
                marker="." if len(batches) < 40 else None)
        ax.plot([r["step"] for r in epochs], [r[f"valid_{metric}"] for r in epochs], "o-", label="valid")
        ax.set(xlabel="iteration (batches)", ylabel=metric, title=f"{title}: {metric}")
        ax.grid(alpha=0.3)
        ax.legend()
    return save(fig, path)


def plot_digits(images, labels, path, title=None, columns=10):
    """A grid of 28x28 digits with their labels (or predictions) above each."""
    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 0.9, rows * 1.05))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, image, label in zip(np.ravel(axes), images, labels):
        ax.imshow(np.reshape(image, (28, 28)), cmap="gray")
        ax.set_title(str(label), fontsize=9)
    if title:
        fig.suptitle(title)
    return save(fig, path)


def plot_confusion(matrix, path, title="confusion matrix"):
    """Rows are true digits, columns predicted ones; each cell shows its count."""
    fig, ax = plt.subplots(figsize=(6, 5.4))
    ax.imshow(np.log1p(matrix), cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=7,
                color="white" if count > matrix.max() / 4 else "black")
    ax.set(title=title, xlabel="predicted", ylabel="true", xticks=range(10), yticks=range(10))
    return save(fig, path)
