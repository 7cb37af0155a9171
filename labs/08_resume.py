"""Lab 08 · 恢复训练 — Resuming training exactly where it stopped.

A long run can be cut short (a closed notebook, a session limit). The checkpoint written after every
epoch holds the weights, the optimizer's state with its learning-rate schedule, the epoch and step,
and the random generators' states, so `python train.py --resume RUN` continues as if nothing had
happened. The course's setting: Momentum with the learning rate decaying polynomially from 0.01 to
0.001 over the run, stepped every batch. The lab trains N epochs straight, then trains N/2, stops,
resumes to N, and compares the two loss curves point by point.

    python labs/08_resume.py
"""
from dataclasses import replace

import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
from digits.errors import run_main
from digits.lab import lab_arguments, lab_folder, parse_lab_arguments
from digits.plots import plot_runs
from digits.runs import Run
from digits.training import TrainConfig, fit


def main():
    args = parse_lab_arguments(lab_arguments(__doc__, epochs=4))
    epochs = max(args.epochs, 2)  # at least one epoch before and one after the interruption
    out = lab_folder("lab08")
    setting = TrainConfig(model="cnn", loss="ce", optimizer="momentum", lr=0.01, lr_schedule="polynomial",
                          epochs=epochs, seed=args.seed, log_interval=50)

    straight = fit(replace(setting, out=f"{out}/straight"))
    fit(replace(setting, out=f"{out}/resumed"), stop_after=epochs // 2)
    print(f"--- stopped after epoch {epochs // 2 - 1}; resuming from its checkpoint ---")
    resumed = fit(replace(setting, out=f"{out}/resumed"), resume=f"{out}/resumed")

    expected = np.array([r["loss"] for r in straight.run.records("batch")])
    got = np.array([r["loss"] for r in Run.open(resumed.run.path).records("batch")])
    weights = max(float(np.abs(a.numpy() - b.numpy()).max())
                  for a, b in zip(straight.model.parameters(), resumed.model.parameters()))
    print(f"\n{len(expected)} logged losses; max |straight - resumed| = {np.abs(expected - got).max():.3g} "
          f"(bit for bit: {np.array_equal(expected, got)}); max weight difference {weights:.3g}")
    print(f"learning rate at the end: {resumed.epochs[-1]['lr']:.6f}; eval accuracy straight "
          f"{100 * straight.eval['accuracy']:.2f}%, resumed {100 * resumed.eval['accuracy']:.2f}%")
    plot_runs([straight.run, Run.open(resumed.run.path)], f"{out}/straight_vs_resumed.png",
              "train loss: uninterrupted vs stopped and resumed", ["straight", f"stopped at epoch {epochs // 2}, resumed"])


if __name__ == "__main__":
    run_main(main)
