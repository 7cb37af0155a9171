"""Evaluating a trained model: per-digit accuracy with a confusion matrix, and reading digit photos."""
import os

import numpy as np
import paddle
import paddle.nn.functional as F

from .errors import UserError
from .export import is_export, load_exported, read_meta
from .onednn import accelerate
from .data import load_course_data
from .plots import plot_confusion, save
from .preprocess import load_photo
from .runs import Run, load_weights
from .training import num_outputs, predict, to_digits


def load_trained(folder):
    """A trained model, in eval mode, from a run folder (train.py) or an exported model (lab 09):
    (model, the loss it was trained with, the data file it was trained on or None)."""
    if not os.path.isdir(folder):
        raise UserError(f"{folder} is not a folder: pass a run folder that train.py wrote (runs/...)")
    if is_export(folder):
        model, loss, trained_on = load_exported(folder), read_meta(folder)["loss"], None
    else:
        from models import build_model  # models/ registers the networks; it imports digits, not the reverse
        run = Run.open(folder)
        config = run.config
        model = load_weights(build_model(config["model"], num_outputs(config["loss"])), run.model_file())
        if config.get("onednn", True):  # the kernels it was trained on, so eval repeats training's numbers
            accelerate(model)
        loss, trained_on = config["loss"], config["data"]
    model.eval()
    return model, loss, trained_on


@paddle.no_grad()
def read_images(model, loss, images):
    """Prepared 28x28 digits -> (predicted digits, per-digit probabilities [N, 10] or, for a
    regression, the regressed values [N]). Puts the model in eval mode (dropout off, batch norm's running
    statistics): digits.training.predict leaves it training."""
    model.eval()
    outputs = model(paddle.to_tensor(np.asarray(images, np.float32).reshape(-1, *model.input_shape)))
    scores = outputs.numpy()[:, 0] if loss == "mse" else F.softmax(outputs).numpy()
    return to_digits(loss, outputs), scores


def report(model, loss, loader, split, figure):
    """Print loss, accuracy and per-digit accuracy over a loader; draw the confusion matrix to `figure`."""
    predicted, truth, mean_loss = predict(model, loader, loss)
    accuracy = float(np.mean(predicted == truth))
    print(f"{split}: {len(truth)} images, {'MSE' if loss == 'mse' else 'loss'} {mean_loss:.4f}, "
          f"accuracy {100 * accuracy:.2f}%")
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (truth, predicted), 1)
    for digit in range(10):
        total = confusion[digit].sum()
        share = confusion[digit, digit] / total if total else float("nan")
        print(f"  digit {digit}: {100 * share:6.2f}%  of {total}")
    write_figure(figure, lambda: plot_confusion(confusion, figure, f"{split} confusion matrix"))
    return accuracy


def predict_photos(model, loss, paths, datafile, figure):
    """Read digit photos the way MNIST was made, print each answer, and draw what the network saw to
    `figure` (digits.reading: every preprocessing step, the answer, the training set's mean image of it)."""
    from .reading import class_means, read, what_the_network_saw  # it imports this module
    pixel_range = load_course_data(datafile).pixel_range
    readings = []
    for path in paths:
        as_given, gray = load_photo(path)
        readings.append(read(model, loss, as_given, gray, pixel_range, name=os.path.basename(path)))
        print(f"{path}: {readings[-1].answer()}")
    fig = what_the_network_saw(readings, class_means(datafile), pixel_range)
    write_figure(figure, lambda: save(fig, figure))
    return np.array([reading.predicted for reading in readings])


def write_figure(path, draw):
    """Run draw(), which writes the figure `path`. When that folder cannot be written (a read-only run
    folder, a full disk) say so in one line: the numbers printed before are the result, the figure
    only shows them."""
    try:
        draw()
    except OSError as e:
        print(f"could not write the figure {path} ({e.strerror or e}): skipped it, the results above are complete")
    else:
        print(f"wrote {path}")
