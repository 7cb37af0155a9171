"""Lab 13 · NumPy track — designing a feed-forward network: how many hidden layers, how wide.

The design lab's network: sigmoid units, the cross-entropy cost of one sigmoid per digit against the
one-hot label, L2 regularisation (lambda 5 over n = 50,000 images, i.e. 1e-4 on the batch-mean cost),
the 50k/10k/10k split, pixels in [0, 1] as the network is designed for. After each epoch the network
is scored on validation, and on test only when validation accuracy sets a new best (the lab prints
which epochs did).
1. The reference 784-30-10, batch 10, 30 epochs, at the lab's fixed learning rate 0.01 and at 0.5,
   the better-tuned rate (in 3-epoch trials 0.5 beat 0.1 at batch 10, and tied with 2 at batch 50).
2. A sweep over k = 1, 2, 3 hidden layers of m = 16, 32, 64, 128 sigmoid units (lr 0.5, batch 50,
   10 epochs), in NumPy and in Paddle; validation accuracy against m for each k, and the best (k, m).
   The grid is sized to a budget of 15 minutes for the whole lab on 2 shared cores.
References: the report's NumPy 784-30-10 reached 94.3% (30 epochs, eta 1.3, lambda 0.1, 79 s); a classic
NumPy network of this kind ~95% (quadratic cost) and ~98% (cross-entropy + L2, 100 hidden units).

    python labs/13_feedforward_design.py
"""
import digits  # noqa: F401  (first: BLAS threads for NumPy, quiet logs for Paddle)
import time

from digits.data import load_course_data
from digits.errors import run_main
from digits.lab import lab_arguments, lab_folder, parse_lab_arguments
from digits.numpy_nn import SGD, mlp, pixels_in_unit_range, train
from digits.plots import plot_curves
from digits.prepare import ensure_datafile
from digits.training import TrainConfig, fit
from models import build_model

L2 = 5.0 / 50_000
FIXED_LR, TUNED_LR = 0.01, 0.5
DEPTHS, WIDTHS = (1, 2, 3), (16, 32, 64, 128)


def main():
    parser = lab_arguments(__doc__, epochs=30)
    parser.add_argument("--sweep-epochs", type=int, default=10, help="epochs per sweep point (default: %(default)s)")
    args = parse_lab_arguments(parser)
    sweep_epochs = 1 if args.quick else args.sweep_epochs
    out = lab_folder("lab13")
    datafile = ensure_datafile()
    splits = pixels_in_unit_range(load_course_data(datafile))

    for lr in (FIXED_LR, TUNED_LR):
        print(f"--- 784-30-10, lr {lr}, batch 10, {args.epochs} epochs")
        network = mlp([784, 30, 10], "sigmoid", loss="sigmoid_ce", l2=L2, seed=args.seed)
        best, tested = {"valid": 0.0}, []

        def test_on_new_best(record):
            if record["valid_accuracy"] > best["valid"]:
                best.update(valid=record["valid_accuracy"], test=network.accuracy(*splits["eval"]))
                tested.append(record["epoch"])
                record["note"] = f"  new best: test accuracy {100 * best['test']:.2f}%"

        started = time.perf_counter()
        train(network, SGD(lr), splits["train"], splits["valid"], epochs=args.epochs, batch_size=10, seed=args.seed,
              after_epoch=test_on_new_best)
        print(f"lr {lr}: best valid {100 * best['valid']:.2f}%, its test accuracy {100 * best['test']:.2f}%, "
              f"test evaluated after epochs {tested}; {time.perf_counter() - started:.0f}s")

    curves, best_points = {}, {}
    for framework in ("numpy", "paddle"):
        started = time.perf_counter()
        for depth in DEPTHS:
            accuracies = [sweep_point(framework, depth, width, sweep_epochs, args.seed, splits, datafile, out)
                          for width in WIDTHS]
            curves[f"{framework}, k={depth}"] = (list(WIDTHS), accuracies)
            best_points.update({(framework, depth, width): a for width, a in zip(WIDTHS, accuracies)})
        print(f"{framework} sweep: {len(DEPTHS) * len(WIDTHS)} networks in {time.perf_counter() - started:.0f}s")
    plot_curves(curves, f"{out}/valid_accuracy_vs_width.png", "validation accuracy vs hidden width",
                xlabel="m, units per hidden layer", ylabel="validation accuracy")

    print(f"\n{'':8s}" + "".join(f"{f'm={w}':>9s}" for w in WIDTHS))
    for framework in ("numpy", "paddle"):
        for depth in DEPTHS:
            print(f"{framework[:6]} k={depth}" + "".join(f"{100 * best_points[framework, depth, w]:8.2f}%" for w in WIDTHS))
        (_, k, m), accuracy = max(((key, a) for key, a in best_points.items() if key[0] == framework), key=lambda p: p[1])
        print(f"best for {framework}: k={k}, m={m}, valid accuracy {100 * accuracy:.2f}%")


def sweep_point(framework, depth, width, epochs, seed, splits, datafile, out):
    """Validation accuracy of a k-hidden-layer sigmoid net after `epochs` at the tuned lr, batch 50.
    Paddle reads the course file through the shared loop; its model maps the pixels to [0, 1] itself.
    (Paddle's weight decay also shrinks the biases, NumPy's only the weights: a negligible difference.)"""
    if framework == "numpy":
        network = mlp([784, *[width] * depth, 10], "sigmoid", loss="sigmoid_ce", l2=L2, seed=seed)
        return train(network, SGD(TUNED_LR), splits["train"], splits["valid"], epochs=epochs, batch_size=50,
                     seed=seed)[-1]["valid_accuracy"]
    config = TrainConfig(model="sigmoid_mlp", loss="sigmoid_ce", optimizer="sgd", lr=TUNED_LR, weight_decay=L2,
                         epochs=epochs, batch_size=50, seed=seed, log_interval=10**6, data=datafile,
                         out=f"{out}/paddle-k{depth}-m{width}")
    pixel_range = load_course_data(datafile).pixel_range
    network = lambda: build_model("sigmoid_mlp", 10, hidden=[width] * depth, input_range=pixel_range)  # noqa: E731
    return fit(config, network).epochs[-1]["valid_accuracy"]


if __name__ == "__main__":
    run_main(main)
