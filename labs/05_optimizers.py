"""Lab 05 · 优化算法 — Optimizers and the learning rate.

The same CNN classifier (cross-entropy), trained with (a) plain SGD at three learning rates and
(b) four optimizers at the course's lr 0.01, plus Adam at 0.001, since 0.01 is aggressive for Adam.
Each gets the course's budget of 3 epochs; the lab overlays the loss curves of each comparison and
prints a table of final train loss and valid accuracy. Full run: 7 trainings, WALL_TIME on 2 cores.

    python labs/05_optimizers.py
"""
import time

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
from digits.errors import run_main
from digits.lab import lab_arguments, lab_folder, parse_lab_arguments
from digits.plots import plot_runs
from digits.training import TrainConfig, fit

LEARNING_RATES = (0.0001, 0.001, 0.01)
OPTIMIZERS = (("sgd", 0.01), ("momentum", 0.01), ("adagrad", 0.01), ("adam", 0.01), ("adam", 0.001))


def main():
    args = parse_lab_arguments(lab_arguments(__doc__, epochs=3))
    out = lab_folder("lab05")
    started = time.perf_counter()
    results = {}

    def trained(optimizer, lr):
        if (optimizer, lr) not in results:
            results[optimizer, lr] = fit(TrainConfig(model="cnn", loss="ce", optimizer=optimizer, lr=lr, epochs=args.epochs,
                                                     seed=args.seed, log_interval=100, out=f"{out}/{optimizer}-{lr:g}"))
        return results[optimizer, lr]

    for title, settings, figure in (("SGD at three learning rates", [("sgd", lr) for lr in LEARNING_RATES], "learning_rates"),
                                    ("optimizers", OPTIMIZERS, "optimizers")):
        runs = [trained(*setting).run for setting in settings]
        plot_runs(runs, f"{out}/{figure}.png", f"train loss: {title}", [f"{o} lr={lr:g}" for o, lr in settings], logy=True)

    print(f"\n{'optimizer':10s} {'lr':>7s} {'train loss':>11s} {'valid acc':>10s} {'s/epoch':>8s}")
    for (optimizer, lr), result in results.items():
        last = result.epochs[-1]
        seconds = sum(e["seconds"] for e in result.epochs) / len(result.epochs)
        print(f"{optimizer:10s} {lr:7g} {last['train_loss']:11.4f} {100 * last['valid_accuracy']:9.2f}% {seconds:8.1f}")
    print(f"{len(results)} trainings of {args.epochs} epochs in {time.perf_counter() - started:.0f} s; figures in {out}")


if __name__ == "__main__":
    run_main(main)
