"""Figures the labs draw: loss curves (one run or several overlaid, or live while a run trains), digit
grids, a confusion matrix. Each is saved as a PNG; in a notebook it also shows inline. Every figure is drawn
in the figure language (digits.i18n: English, or Chinese in the Chinese edition)."""
import io
import os
import sys
import time

import matplotlib


def in_notebook():
    """True inside a Jupyter kernel (a notebook), False in a script or a plain Python shell."""
    if "IPython" not in sys.modules:
        return False
    shell = sys.modules["IPython"].get_ipython()
    return shell is not None and hasattr(shell, "kernel")


if not in_notebook():
    matplotlib.use("Agg")  # a script writes files only: the labs run on servers and in CI without a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import LogFormatter  # noqa: E402

from .fileio import atomic_path  # noqa: E402
from .i18n import localize  # noqa: E402


def png(fig):
    buffer = io.BytesIO()
    localize(fig).savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def write_png(fig, path):
    """Write a figure to a PNG file in one step (a reader never sees half of it), in the figure language."""
    with atomic_path(path) as tmp:
        localize(fig).savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    return path


def figure_array(fig, dpi=100, lang=None):
    """A matplotlib Figure drawn into an RGBA uint8 array (what a web page shows as an image), in `lang`
    (default: the figure language)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    localize(fig, lang)
    canvas = FigureCanvasAgg(fig)
    fig.set_dpi(dpi)
    canvas.draw()
    return np.array(canvas.buffer_rgba())


def show(fig, handle=None):
    """Show a figure inline in a notebook (replacing the one `handle` shows, if given); returns the handle."""
    from IPython.display import Image, display
    if handle is None:
        return display(Image(png(fig)), display_id=True)
    handle.update(Image(png(fig)))
    return handle


def save(fig, path, show_inline=True):
    write_png(fig, path)
    if show_inline and in_notebook():
        show(fig)
    plt.close(fig)
    return path


class LiveCurves:
    """Curves redrawn while a run trains (d2l's Animator): in a notebook the figure below the cell updates at
    each add(); in a script add() only records, and the lab saves its PNGs at the end as before.

        live = LiveCurves("train loss", xlabel="iteration (batches)")
        live.add("train", step, loss)      # as the losses come in (add_batch: a point per `window` batches)
        live.save("runs/.../loss.png")     # the finished figure as a file (in a notebook it is already shown)
    """

    def __init__(self, title, xlabel="iteration (batches)", ylabel="loss", logy=False, every=1.0, window=1,
                 panels=None):
        self.title, self.xlabel, self.ylabel, self.logy = title, xlabel, ylabel, logy
        self.panels = panels           # panel titles, side by side: a curve's label is then (panel, legend entry)
        self.every = every             # seconds between redraws, at least: a redraw costs more than a batch
        self.wait = every              # and at least 10x the last redraw's time, so drawing stays under ~10%
        self.window = window           # add_batch: batches per point (a point is their mean)
        self.curves, self.styles, self.handle, self.drawn, self.pending = {}, {}, None, 0.0, {}
        self.live = in_notebook()

    def add_batch(self, label, step, value, **style):
        """One batch's value (its loss): every `window` batches the curve `label` gets a point, their mean, at
        the last one's step. A single batch's loss jumps about; a window's mean shows where training is."""
        values, _ = self.pending.get(label, ([], None))
        self.pending[label] = (values + [value], step)
        if len(values) + 1 >= self.window:
            self.flush(label, **style)

    def flush(self, label, **style):
        """A point for the batches added since the last one (a shorter window: the end of an epoch or a run)."""
        values, step = self.pending.pop(label, ([], None))
        if values:
            self.add(label, step, float(np.mean(values)), **style)

    def add(self, label, x, y, **style):
        """Add a point to the curve `label`; its first add() may give matplotlib's line style (color=, ls=)."""
        if label not in self.curves:
            self.styles[label] = style
        xs, ys = self.curves.setdefault(label, ([], []))
        xs.append(x)
        ys.append(y)
        if self.live and time.monotonic() - self.drawn >= self.wait:
            self.draw()

    def figure(self):
        if self.panels:
            return self.panel_figure()
        fig = Figure(figsize=(7, 4.2))  # not pyplot's: a notebook shows it only through the handle
        ax = fig.subplots()
        for label, (xs, ys) in self.curves.items():
            ax.plot(xs, ys, label=label, **{"marker": "." if len(xs) < 40 else None, **self.styles[label]})
        ax.set(title=self.title, xlabel=self.xlabel, ylabel=self.ylabel)
        if self.logy:
            log_axis(ax)
        ax.grid(alpha=0.3)
        if self.curves:
            ax.legend()
        return fig

    def panel_figure(self):
        """The panels side by side, sharing their axes, under the title; one legend outside them on the right."""
        fig = Figure(figsize=(10, 4.2))
        axes = fig.subplots(1, len(self.panels), sharex=True, sharey=True, squeeze=False)[0]
        for (panel, label), (xs, ys) in self.curves.items():
            style = {"marker": "." if len(xs) < 40 else None, **self.styles[panel, label]}
            axes[self.panels.index(panel)].plot(xs, ys, label=label, **style)
        for ax, panel in zip(axes, self.panels):
            ax.set(title=panel, xlabel=self.xlabel)
            if self.logy:
                log_axis(ax)
            ax.grid(alpha=0.3)
        axes[0].set_ylabel(self.ylabel)
        fig.suptitle(self.title)
        if self.curves:
            fig.legend(*axes[0].get_legend_handles_labels(), loc="center left", bbox_to_anchor=(0.9, 0.5))
            fig.subplots_adjust(right=0.88, top=0.85)
        return fig

    def draw(self):
        """Redraw now in a notebook (the last points may have come since the last redraw)."""
        if self.live:
            started = time.monotonic()
            self.handle = show(self.figure(), self.handle)
            self.drawn = time.monotonic()
            self.wait = max(self.every, 10 * (self.drawn - started))

    def save(self, path):
        """Write the figure to a PNG, with a point for any batches add_batch holds since the last one; in a
        notebook, also show its last state. Returns the path."""
        for label in list(self.pending):
            self.flush(label)
        self.draw()
        return write_png(self.figure(), path)


def plot_curves(curves, path, title, xlabel="iteration (batches)", ylabel="train loss", logy=False, show_inline=True):
    """Overlay curves given as {label: (xs, ys)} in one PNG (in a notebook also shown, unless show_inline=False)."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, (xs, ys) in curves.items():
        ax.plot(xs, ys, label=label, marker="." if len(xs) < 40 else None)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if logy:
        log_axis(ax)
    ax.grid(alpha=0.3)
    ax.legend()
    return save(fig, path, show_inline)


class PlainLogFormatter(LogFormatter):
    """Labels the ticks matplotlib's LogFormatter would label, written plainly: 0.3, 1, 3 (not 3×10⁻¹, 3e−01)."""

    def __call__(self, x, pos=None):
        return f"{x:g}" if super().__call__(x, pos) else ""


def log_axis(ax, which="y"):
    """Put ax's x or y axis on a log scale whose ticks read 0.3, 1, 3."""
    ax.set(**{f"{which}scale": "log"})
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_formatter(PlainLogFormatter(labelOnlyBase=False))
    axis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))


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
