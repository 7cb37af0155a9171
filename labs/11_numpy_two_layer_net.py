"""Lab 11 · NumPy track — a two-layer net with backpropagation written by hand.

The textbook's TwoLayerNet: 784 -> 50 -> ReLU -> 10 -> softmax + cross-entropy, SGD lr 0.1, batch
100, 10,000 iterations (20 epochs of the 50,000 training images). Each layer in digits/numpy_nn.py
has a forward and a hand-written backward pass; a gradient check compares backprop with central
differences first. Train and test accuracy per epoch go in one figure, the loss per iteration in
another. As in the textbook, pixels are scaled to [0, 1]: the course file's [-1, 1] puts every
input at a mean near -0.75, which makes plain SGD at lr 0.1 noisy (about 94.5% instead of 97%).
Reference: test accuracy about 97%.

    python labs/11_numpy_two_layer_net.py
"""
import digits  # noqa: F401  (first: it sets NumPy's BLAS threads before NumPy loads)
import numpy as np

from digits.data import load_course_data
from digits.errors import run_main
from digits.lab import lab_arguments, lab_folder, parse_lab_arguments
from digits.numpy_nn import SGD, gradient_check, mlp, pixels_in_unit_range, train
from digits.plots import plot_curves
from digits.prepare import ensure_datafile

ITERATIONS, BATCH = 10_000, 100


def main():
    args = parse_lab_arguments(lab_arguments(__doc__, epochs=None))
    out = lab_folder("lab11")
    data = load_course_data(ensure_datafile())
    splits = pixels_in_unit_range(data)
    train_split, valid_split, test_split = splits["train"], splits["valid"], splits["eval"]

    # Gradient check in float64 on three images: backprop against (f(w+h) - f(w-h)) / 2h, every weight.
    checked = mlp([784, 50, 10], "relu", seed=args.seed, dtype=np.float64)
    errors = gradient_check(checked, train_split[0][:3].astype(np.float64), train_split[1][:3])
    print("gradient check, relative error |backprop - numerical| / (|backprop| + |numerical|):")
    for name, error in errors.items():
        print(f"  {name:4s} {error:.2e}")

    epochs = args.epochs or -(-ITERATIONS // -(-len(train_split[0]) // BATCH))  # 20 on the full data
    network = mlp([784, 50, 10], "relu", seed=args.seed)

    def test_accuracy(record):
        record["train_accuracy"] = network.accuracy(*train_split)
        record["test_accuracy"] = network.accuracy(*test_split)
        record["note"] = f", train {100 * record['train_accuracy']:.2f}%, test {100 * record['test_accuracy']:.2f}%"

    history = train(network, SGD(0.1), train_split, valid_split, epochs=epochs, batch_size=BATCH, seed=args.seed,
                    after_epoch=test_accuracy)
    epochs_axis = [r["epoch"] + 1 for r in history]
    plot_curves({"train": (epochs_axis, [r["train_accuracy"] for r in history]),
                 "test": (epochs_axis, [r["test_accuracy"] for r in history])},
                f"{out}/accuracy.png", "TwoLayerNet accuracy", xlabel="epoch", ylabel="accuracy")
    losses = [loss for r in history for loss in r["losses"]]
    plot_curves({"train loss": (list(range(len(losses))), losses)}, f"{out}/loss.png", "TwoLayerNet loss per iteration")
    print(f"{len(losses)} iterations in {sum(r['seconds'] for r in history):.1f}s: test accuracy "
          f"{100 * history[-1]['test_accuracy']:.2f}% (reference ~97%); figures in {out}")


if __name__ == "__main__":
    run_main(main)
