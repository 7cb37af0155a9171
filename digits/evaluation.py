"""Evaluating a trained model: per-digit accuracy with a confusion matrix, and reading digit photos."""
import numpy as np
import paddle
import paddle.nn.functional as F

from .plots import plot_confusion, plot_digits
from .preprocess import load_digit
from .training import predict, to_digits


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


@paddle.no_grad()
def predict_photos(model, loss, paths, pixel_range, figure, input_shape):
    """Read digit photos the way MNIST was made, predict each, and draw what the model saw to `figure`."""
    images = np.stack([load_digit(path, pixel_range) for path in paths])
    outputs = model(paddle.to_tensor(images.reshape(-1, *input_shape)))
    predicted = to_digits(loss, outputs)
    if loss == "mse":
        details = [f"regressed value {value:.2f}" for value in outputs.numpy()[:, 0]]
    else:
        details = [f"probability {100 * p:.1f}%" for p in F.softmax(outputs).numpy().max(axis=1)]
    for path, digit, detail in zip(paths, predicted, details):
        print(f"{path}: {digit} ({detail})")
    write_figure(figure, lambda: plot_digits(images, predicted, figure, "what the model saw, and its answer"))
    return predicted


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
