"""Reading one person's digit, and showing why the network answered what it did.

The app (app.py) and `eval.py --image` draw the same figure: every preprocessing step from the photo as
given to the network's input, the answer, and the training set's mean image of the answer (and of the
digit the writer meant, when they say). A digit the network misreads usually looks, after these steps,
unlike that mean: too thin, too thick, slanted, or cut. Inside the network, the conv feature maps show
what its first two layers respond to.
"""
from dataclasses import dataclass

import numpy as np
import paddle
from matplotlib.figure import Figure

import paddle.nn.functional as F

from .data import load_course_data
from .preprocess import mnist_steps
from .training import to_digits

STEP_TITLES = {"grayscale": "grayscale", "inverted": "inverted", "cropped to the ink": "cropped to the ink",
               "fitted into 20x20": "fitted into 20x20", "centred in 28x28": "centred by mass\nin 28x28",
               "normalised": "normalised:\nthe network's input"}


@dataclass
class Reading:
    """One photo read by one model: the photo as given, each preprocessing step, the answer."""
    name: str                # the photo's name ("your drawing", a file name)
    as_given: np.ndarray     # the picture as it arrived (RGB or RGBA or grey)
    steps: dict              # digits.preprocess.mnist_steps: step name -> image
    predicted: int
    scores: np.ndarray       # probabilities of the ten digits, or the regressed value (a regression)
    loss: str

    def top(self, k=3):
        """The k likeliest digits with their probabilities (a regression: its rounded value, and 1)."""
        if self.loss == "mse":
            return {self.predicted: 1.0}
        order = np.argsort(self.scores)[::-1][:k]
        return {int(d): float(self.scores[d]) for d in order}

    def answer(self):
        if self.loss == "mse":
            return f"{self.predicted} (regressed value {float(self.scores):.2f})"
        return f"{self.predicted} ({100 * self.scores[self.predicted]:.1f}%)"


@paddle.no_grad()
def read_images(model, loss, images):
    """Prepared 28x28 digits -> (predicted digits, per-digit probabilities [N, 10] or, for a
    regression, the regressed values [N]). Puts the model in eval mode (dropout off, batch norm's running
    statistics): digits.training.predict leaves it training."""
    model.eval()
    outputs = model(paddle.to_tensor(np.asarray(images, np.float32).reshape(-1, *model.input_shape)))
    scores = outputs.numpy()[:, 0] if loss == "mse" else F.softmax(outputs).numpy()
    return to_digits(loss, outputs), scores


def read(model, loss, as_given, gray, pixel_range, name="the image"):
    """Prepare a grey picture (0-255) the MNIST way and read it with `model`: a Reading."""
    steps = mnist_steps(gray, pixel_range, name)
    predicted, scores = read_images(model, loss, steps["normalised"][None])
    return Reading(name, as_given, steps, int(predicted[0]), scores[0], loss)


def class_means(datafile=None):
    """The training set's mean image of each digit, [10, 28, 28] in the data's pixel range."""
    data = load_course_data(datafile)
    images, labels = data["train"]
    images = images.reshape(-1, 28, 28)
    return np.stack([images[labels == digit].mean(axis=0) for digit in range(10)])


def what_the_network_saw(readings, means, pixel_range, meant=None, models=None):
    """One row per reading: the photo, each preprocessing step, the training mean of the answer (and
    of the digit `meant`, a list with None where unknown); `models` names who answered in each row.
    A row whose input is the row above's (another model reading the same picture) shows only its answer.
    A matplotlib Figure (no pyplot, so a web server's threads may draw at once)."""
    meant = meant or [None] * len(readings)
    models = models or [""] * len(readings)
    columns = 1 + len(STEP_TITLES) + (2 if any(digit is not None for digit in meant) else 1)
    fig = Figure(figsize=(1.45 * columns, 1.85 * len(readings) + 0.2), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(readings), columns))
    low, high = pixel_range
    previous = None
    for row, reading, digit, model in zip(axes, readings, meant, models):
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_frame_on(False)
        same_input = previous is not None and np.array_equal(reading.steps["normalised"], previous.steps["normalised"])
        previous = reading
        if same_input:
            row[len(STEP_TITLES)].text(0.5, 0.5, "the same input\nas above", ha="center", va="center", fontsize=8,
                                       transform=row[len(STEP_TITLES)].transAxes)
        else:
            draw_steps(row, reading, low, high)
        answer_axis = row[len(STEP_TITLES) + 1]
        answer_axis.imshow(means[reading.predicted], cmap="gray", vmin=low, vmax=high)
        answer_axis.set_title(f"{model[-24:]}\nanswer {reading.answer()}\ntraining mean of {reading.predicted}", fontsize=8,
                              color="black" if digit is None or digit == reading.predicted else "firebrick")
        if digit is not None:
            row[-1].imshow(means[digit], cmap="gray", vmin=low, vmax=high)
            row[-1].set_title(f"you meant {digit}\ntraining mean of {digit}", fontsize=8)
    return fig


def draw_steps(row, reading, low, high):
    """The photo as given, then each preprocessing step, into a row of axes."""
    row[0].imshow(reading.as_given, cmap="gray" if reading.as_given.ndim == 2 else None, vmin=0, vmax=255)
    row[0].set_title(f"as given\n{reading.name[-24:]}", fontsize=8)
    for ax, (step, title) in zip(row[1:], STEP_TITLES.items()):
        limits = (low, high) if step == "normalised" else (0, 255)
        ax.imshow(reading.steps[step], cmap="gray", vmin=limits[0], vmax=limits[1])
        ax.set_title(title, fontsize=8)


@paddle.no_grad()
def feature_maps(model, image):
    """The outputs of the model's conv1 and conv2 layers (after ReLU) for one prepared 28x28 image:
    {"conv1": [C1, 28, 28], "conv2": [C2, 14, 14]}; empty for a model without such layers (an export)."""
    layers = {name: getattr(model, name) for name in ("conv1", "conv2") if hasattr(model, name)}
    if len(layers) < 2:
        return {}
    found, hooks = {}, []
    for name, layer in layers.items():
        # a forward hook sees each conv's own output; digits.onednn's fused stages step aside for it
        hooks.append(layer.register_forward_post_hook(
            lambda layer, inputs, output, name=name: found.__setitem__(name, np.maximum(output.numpy()[0], 0))))
    try:
        model(paddle.to_tensor(np.asarray(image, np.float32).reshape(1, *model.input_shape)))
    finally:
        for hook in hooks:
            hook.remove()
    return found


def mosaic(stack, columns, gap=2):
    """Channels [C, H, W] tiled into one image, `columns` across, `gap` pixels apart (NaN: drawn blank)."""
    count, height, width = stack.shape
    rows = -(-count // columns)
    tiled = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap), np.nan, dtype=np.float32)
    for index, channel in enumerate(stack):
        top, left = (index // columns) * (height + gap), (index % columns) * (width + gap)
        tiled[top:top + height, left:left + width] = channel
    return tiled


def feature_map_figure(maps, columns=16):
    """Every channel of conv1 and conv2 as a small grey image, brighter where it responds (one tiled
    image per layer: a figure of a hundred small axes takes seconds to draw, too slow for a live page)."""
    tiles = {name: mosaic(stack, columns) for name, stack in maps.items()}
    heights = [tile.shape[0] / tile.shape[1] for tile in tiles.values()]
    fig = Figure(figsize=(9, 9 * sum(heights) + 0.5 * len(tiles)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(tiles), 1, height_ratios=heights))
    for ax, (name, tile), stack in zip(axes, tiles.items(), maps.values()):
        ax.imshow(tile, cmap="gray", vmin=0, vmax=max(float(stack.max()), 1e-6), interpolation="nearest")
        ax.axis("off")
        ax.set_title(f"{name}: {len(stack)} channels, {stack.shape[1]}x{stack.shape[2]} (after ReLU)", fontsize=9)
    return fig
