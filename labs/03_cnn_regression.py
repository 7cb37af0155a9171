"""Lab 03 · 网络结构 (CNN) — A convolutional network for the same regression, and why it can stall.

The course's CNN: conv 20@5x5 -> relu -> max-pool 2, twice, then Linear(980, 1), trained exactly like
lab 02's MLP (MSE, SGD 0.01, batch 100, 10 epochs). The course shows its loss falling from ~25-29 to
~1.0, faster and lower than the MLP. This lab puts the chapter's three networks in one figure:
the first-attempt linear regressor, the MLP and the CNN.

What we found reproducing it: the course's setting is fragile. At the first steps the error is
large (the net predicts ~0 for digits averaging 4.5) and the last layer's 980 inputs are large, so one
SGD step moves the output by about 2 * lr * error * |features|^2, 5-40 times more than the error
itself. The output overshoots, the next gradients explode, and every conv2 ReLU can end up dead
(zero for every image): from then on the net outputs a constant, the mean label, and the loss sits at
the label variance, 8.3. Whether some channels survive depends on the seed and the pixel range
(background -1 makes the features larger than background 0). Clipping the gradient's global norm
(paddle.nn.ClipGradByGlobalNorm(1.0)) bounds those first steps; nothing else changes, and the CNN
learns for every seed (here it ends level with the MLP, not at the course's ~1.0). The lab trains the
CNN both ways for each --seeds value.

    python labs/03_cnn_regression.py               # seed 0; add --seeds 0 1 2 for the full study
"""
from dataclasses import replace

import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
import paddle.nn.functional as F
from digits.data import IMAGE, load_course_data
from digits.errors import UserError, run_main
from digits.lab import lab_arguments, lab_folder, parse_lab_arguments
from digits.plots import plot_runs
from digits.runs import Run
from digits.training import TrainConfig, fit

COURSE = TrainConfig(loss="mse", optimizer="sgd", lr=0.01, epochs=10, log_interval=200)


def main():
    parser = lab_arguments(__doc__, epochs=COURSE.epochs)
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds for the CNN runs (default: --seed)")
    args = parse_lab_arguments(parser)
    seeds = args.seeds or [args.seed]
    out = lab_folder("lab03")
    course = replace(COURSE, epochs=args.epochs)

    # The linear model's 784 inputs make 2 * lr * |x|^2 about 16 at lr 0.01: it diverges. At 0.001 it learns.
    baselines = [fit(replace(course, model="linear", lr=0.001, seed=seeds[0], out=f"{out}/linear")),
                 fit(replace(course, model="mlp", seed=seeds[0], out=f"{out}/mlp"))]
    print(f"\n{'run':24s} {'final train loss':>16s} {'eval MSE':>9s} {'eval acc':>9s} {'dead conv2':>10s}")
    for name, result in (("linear (lr 0.001)", baselines[0]), ("mlp", baselines[1])):
        print(f"{name:24s} {result.epochs[-1]['train_loss']:16.4f} {result.eval['loss']:9.4f} "
              f"{100 * result.eval['accuracy']:8.2f}%")
    fragile_runs, clipped_runs = [], []
    for seed in seeds:
        for clip, runs in ((0.0, fragile_runs), (1.0, clipped_runs)):
            name = f"cnn, seed {seed}, " + ("clipped" if clip else "course")
            config = replace(course, model="cnn", seed=seed, grad_clip=clip,
                             out=f"{out}/cnn-seed{seed}" + ("-clipped" if clip else ""))
            runs.append(Run(config.out))
            try:
                result = fit(config)
            except UserError as error:  # the course setting can also blow up outright: part of what this lab shows
                print(f"{name:24s} diverged: {error}")
                continue
            dead = dead_channels(result.model)
            print(f"{name:24s} {result.epochs[-1]['train_loss']:16.4f} {result.eval['loss']:9.4f} "
                  f"{100 * result.eval['accuracy']:8.2f}% {dead:10.0%}" + ("  stalled: constant output" if dead == 1 else ""))

    plot_runs([baselines[0].run, baselines[1].run, clipped_runs[0]], f"{out}/linear_mlp_cnn.png",
              "train loss, MSE regression, SGD 0.01", ["linear (lr 0.001)", "MLP", "CNN (gradient clipped at 1.0)"], logy=True)
    plot_runs(fragile_runs + clipped_runs, f"{out}/cnn_course_vs_clipped.png", "CNN train loss: course setting vs clipped",
              [f"course, seed {s}" for s in seeds] + [f"clipped, seed {s}" for s in seeds], logy=True)
    print(f"figures: {out}/linear_mlp_cnn.png, {out}/cnn_course_vs_clipped.png")


@paddle.no_grad()
def dead_channels(model, count=1000):
    """The share of conv2's channels whose ReLU output is zero for every one of `count` valid images."""
    model.eval()
    images = paddle.to_tensor(load_course_data()["valid"][0][:count].reshape(-1, *IMAGE))
    activations = F.relu(model.conv2(model.pool1(F.relu(model.conv1(images))))).numpy()
    return float(np.mean(activations.max(axis=(0, 2, 3)) == 0))


if __name__ == "__main__":
    run_main(main)
