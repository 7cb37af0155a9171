"""Lab 04 · 损失函数 — Loss functions: from regressing the digit to classifying it.

A digit's label is a category, not a quantity: predicting 3.6 for a 4 says nothing useful. So the CNN
gets 10 outputs, one score per digit; softmax turns scores into probabilities, and cross-entropy,
-log p(true digit), punishes a confident wrong answer hard. This lab shows softmax on a small
example and the -log p curve, trains the same CNN both ways with the same budget (SGD 0.01, batch
100; the regression with lab 03's gradient clipping), compares eval accuracy, and reads a digit
photo with the classifier (yours with --image).

    python labs/04_loss_functions.py [--image my_digit.jpg]
"""
import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
import paddle.nn.functional as F
from digits.data import load_course_data
from digits.errors import run_main
from digits.evaluation import predict_photos
from digits.lab import lab_arguments, lab_folder, parse_lab_arguments
from digits.plots import plot_curves
from digits.preprocess import digit_photo
from digits.training import TrainConfig, fit


def main():
    parser = lab_arguments(__doc__, epochs=5)
    parser.add_argument("--image", nargs="+", help="your own digit photos (default: an eval digit drawn as a photo)")
    args = parse_lab_arguments(parser)
    out = lab_folder("lab04")

    scores = paddle.to_tensor([[2.0, 1.0, 0.1]])
    probabilities = F.softmax(scores)
    print(f"scores [2.0, 1.0, 0.1] -> softmax [{', '.join(f'{p:.4f}' for p in probabilities.numpy()[0])}], "
          f"which sum to {float(probabilities.sum()):.4f}")
    label = paddle.to_tensor([[0]])
    print(f"cross-entropy if the true class is 0: {float(F.cross_entropy(scores, label)):.4f} "
          f"= -log {float(probabilities[0, 0]):.4f}")
    p = np.linspace(0.01, 1.0, 100)
    plot_curves({"-log p": (p, -np.log(p))}, f"{out}/neg_log_p.png", "cross-entropy of one example",
                xlabel="p, the probability given to the true digit", ylabel="loss")

    results = {}
    for loss in ("mse", "ce"):
        # the regression gets lab 03's gradient clipping: without it the CNN regressor can stall at the mean
        config = TrainConfig(model="cnn", loss=loss, optimizer="sgd", lr=0.01, epochs=args.epochs, seed=args.seed,
                             grad_clip=1.0 if loss == "mse" else 0.0, log_interval=200, out=f"{out}/cnn-{loss}")
        results[loss] = fit(config)
    print(f"\nsame CNN, SGD 0.01, {args.epochs} epochs:")
    for loss, name in (("mse", "regression (MSE, clipped, rounded)"), ("ce", "classification (softmax + CE)")):
        print(f"  {name:38s} eval accuracy {100 * results[loss].eval['accuracy']:.2f}%")

    paths = args.image or [digit_photo(eval_digit(), f"{out}/photo.png")]
    data = load_course_data()
    predict_photos(results["ce"].model, "ce", paths, data.pixel_range, f"{out}/photos.png", (1, 28, 28))


def eval_digit(index=0):
    """The first eval digit as uint8 pixels, read back from the course file (background 0, ink 255)."""
    data = load_course_data()
    background, ink = data.pixel_range
    image = (data["eval"][0][index] - background) / (ink - background) * 255
    return np.rint(image).reshape(28, 28).astype(np.uint8)


if __name__ == "__main__":
    run_main(main)
