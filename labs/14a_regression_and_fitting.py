"""Lab 14a · Study notes — regression, capacity and regularisation, on synthetic data in Paddle.

1. Regression by gradient descent: one variable (y = 2x + 1), several variables, and a polynomial
   (a linear layer on the features x, x^2, x^3), each fitted with Paddle; the fitted line and curve
   are plotted, and the three training losses per step.
2. Under- and over-fitting: polynomials of growing degree fitted exactly (least squares) to 15 noisy
   samples of a sine; train error keeps falling while test error falls, then climbs.
3. L1 vs L2: 40 features of which 4 matter. L1 drives the useless weights to zero (a sparse model);
   L2 only shrinks them.

    python labs/14a_regression_and_fitting.py
"""
import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
import paddle.nn.functional as F
from digits.errors import run_main
from digits.lab import lab_arguments, lab_folder, parse_lab_arguments
from digits.plots import plot_curves
from digits.training import seed_everything


def fit_linear(features, targets, steps, lr=0.1, regularizer=None):
    """A Paddle Linear layer fitted to (features, targets) by full-batch gradient descent on the MSE;
    returns the layer and its loss at every step."""
    layer = paddle.nn.Linear(features.shape[1], 1)
    optimizer = paddle.optimizer.SGD(learning_rate=lr, parameters=layer.parameters(), weight_decay=regularizer)
    x, y, losses = paddle.to_tensor(features), paddle.to_tensor(targets), []
    for _ in range(steps):
        loss = F.mse_loss(layer(x), y)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
        losses.append(float(loss))
    return layer, losses


def listed(values):
    return "[" + ", ".join(f"{v:.3f}" for v in values) + "]"


def main():
    args = parse_lab_arguments(lab_arguments(__doc__, epochs=None))
    steps = 50 if args.quick else 2000
    seed_everything(args.seed)
    rng = np.random.default_rng(args.seed)
    out = lab_folder("lab14a")

    # 1. One variable, several variables, a polynomial.
    losses = {}
    x = rng.uniform(-1, 1, (100, 1)).astype(np.float32)
    y = (2 * x + 1 + rng.normal(0, 0.1, x.shape)).astype(np.float32)
    layer, losses["one variable"] = fit_linear(x, y, steps)
    print(f"one variable: y = {layer.weight.item():.3f} x + {layer.bias.item():.3f} (truth 2x + 1), "
          f"MSE {losses['one variable'][-1]:.4f}")
    line = np.linspace(-1, 1, 50, dtype=np.float32)[:, None]
    plot_curves({"fit": (line[:, 0], layer(paddle.to_tensor(line)).numpy()[:, 0]), "truth 2x+1": (line[:, 0], 2 * line[:, 0] + 1)},
                f"{out}/one_variable.png", "one-variable regression", xlabel="x", ylabel="y")

    true_w = np.array([[1.5], [-2.0], [0.5]], dtype=np.float32)
    X = rng.normal(0, 1, (200, 3)).astype(np.float32)
    targets = (X @ true_w + 0.3 + rng.normal(0, 0.1, (200, 1))).astype(np.float32)
    layer, losses["three variables"] = fit_linear(X, targets, steps)
    print(f"three variables: w = {listed(layer.weight.numpy()[:, 0])} (truth {true_w[:, 0].tolist()}), "
          f"b = {layer.bias.item():.3f} (truth 0.3), MSE {losses['three variables'][-1]:.4f}")

    cubic = (x ** 3 - x + rng.normal(0, 0.05, x.shape)).astype(np.float32)
    powers = np.hstack([x, x ** 2, x ** 3])
    layer, losses["polynomial"] = fit_linear(powers, cubic, steps * 5, lr=0.3)
    curve = np.hstack([line, line ** 2, line ** 3])
    print(f"polynomial: coefficients of x, x^2, x^3 = {listed(layer.weight.numpy()[:, 0])} "
          f"(truth [-1, 0, 1]), MSE {losses['polynomial'][-1]:.4f}")
    plot_curves({"fit": (line[:, 0], layer(paddle.to_tensor(curve)).numpy()[:, 0]), "truth x^3 - x": (line[:, 0], line[:, 0] ** 3 - line[:, 0])},
                f"{out}/polynomial.png", "polynomial regression", xlabel="x", ylabel="y")
    plot_curves({name: (list(range(1, len(values) + 1)), values) for name, values in losses.items()},
                f"{out}/regression_losses.png", "training loss of the three regressions", xlabel="step",
                ylabel="MSE", logy=True)

    # 2. Capacity: exact least-squares polynomials of degree 0..12 on 15 noisy points.
    def sample(count):
        t = rng.uniform(0, 1, count)
        return t, np.sin(2 * np.pi * t) + rng.normal(0, 0.2, count)
    (t_train, y_train), (t_test, y_test) = sample(15), sample(200)
    degrees, errors = list(range(13)), {"train": [], "test": []}
    for degree in degrees:
        def design(t):
            return paddle.to_tensor(np.vander(t, degree + 1, increasing=True))
        coefficients = paddle.linalg.lstsq(design(t_train), paddle.to_tensor(y_train[:, None]))[0]
        for split, t, target in (("train", t_train, y_train), ("test", t_test, y_test)):
            errors[split].append(float(np.mean(((design(t) @ coefficients).numpy()[:, 0] - target) ** 2)))
    best = int(np.argmin(errors["test"]))
    print(f"capacity: test MSE is lowest at degree {best} ({errors['test'][best]:.3f}); degree 12 fits the 15 train "
          f"points to MSE {errors['train'][12]:.4f} but tests at {errors['test'][12]:.1f}")
    plot_curves({split: (degrees, values) for split, values in errors.items()}, f"{out}/under_over_fitting.png",
                "polynomial degree vs error", xlabel="degree", ylabel="MSE", logy=True)

    # 3. L1 vs L2 on 40 features, 4 of which matter.
    sparse_w = np.zeros((40, 1), dtype=np.float32)
    sparse_w[:4, 0] = [3.0, -2.0, 1.5, 1.0]
    X = rng.normal(0, 1, (100, 40)).astype(np.float32)
    y = (X @ sparse_w + rng.normal(0, 0.1, (100, 1))).astype(np.float32)
    for name, regularizer in (("L1", paddle.regularizer.L1Decay(0.05)), ("L2", paddle.regularizer.L2Decay(0.05))):
        layer, _ = fit_linear(X, y, steps, lr=0.05, regularizer=regularizer)
        weights = layer.weight.numpy()[:, 0]
        print(f"{name}: {int(np.sum(np.abs(weights[4:]) < 1e-2))} of the 36 useless weights below 0.01 "
              f"(largest {np.abs(weights[4:]).max():.3f}); useful weights {listed(weights[:4])}")


if __name__ == "__main__":
    run_main(main)
