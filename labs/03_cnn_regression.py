"""Lab 03 · 网络结构 (CNN) — a convolutional network for the same task, and when it beats the MLP.

Course section: 【手写数字识别】之网络结构 (the CNN half). The course's CNN: conv 20@5x5 -> relu ->
max-pool 2, twice, then Linear(980, 1), trained exactly like lab 02's MLP (MSE, SGD 0.01, batch 100,
10 epochs). The course shows its loss falling from ~29 to ~1.0 and says it falls faster and ends
lower than the MLP's. From this lab on, training runs in the shared loop, digits.training.fit: its
train_step() is lab 02's five lines, and fit() swaps the Conv2D layers below for oneDNN's faster ones
from outside (digits.onednn.accelerate), so the class stays the course's.

1. Regression, as the course. The course's setting is fragile: at the first steps the error is large
   (the net predicts ~0 for digits averaging 4.5) and the last layer's 980 inputs are large, so one SGD
   step moves the output by about 2 * lr * error * |features|^2, many times the error itself. The
   output overshoots, gradients explode, and conv2's ReLUs can all die: the net then outputs a
   constant, the mean label, and the loss sits at the label variance, 8.3. Whether it happens depends
   on the seed. The principled cure is to make the first steps small while the error is large: a
   learning-rate warm-up (0 -> 0.01 over the first epoch, then the course's constant rate, Goyal et
   al. 2017). With it the CNN learns for every seed and ends below the MLP, as the course says.
2. The comparison where the CNN's advantage is real: the same MLP and CNN trained as classifiers
   (softmax cross-entropy, lab 04's topic), loss and accuracy curves in one figure.

Deviations from the course: the warm-up run is added beside the course's setting, and part 2 is new
(the course compares the two only as regressions).

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
from digits.plots import plot_curves, plot_runs
from digits.training import TrainConfig, fit
from models.linear import LinearRegressor
from models.mlp import MLP   # lab 02's MLP, kept in the library


class CNN(paddle.nn.Layer):
    """The course's network: two conv + max-pool stages, then one linear layer (1 output: regression).
    models/cnn.py keeps this same class for train.py and the later labs."""
    input_shape = IMAGE   # what the loader gives it: [B, 1, 28, 28]

    def __init__(self, num_outputs=1):
        super().__init__()
        self.conv1 = paddle.nn.Conv2D(in_channels=1, out_channels=20, kernel_size=5, stride=1, padding=2)
        self.pool1 = paddle.nn.MaxPool2D(kernel_size=2, stride=2)
        self.conv2 = paddle.nn.Conv2D(in_channels=20, out_channels=20, kernel_size=5, stride=1, padding=2)
        self.pool2 = paddle.nn.MaxPool2D(kernel_size=2, stride=2)
        self.fc = paddle.nn.Linear(in_features=980, out_features=num_outputs)

    def forward(self, inputs):
        x = self.conv1(inputs)
        x = F.relu(x)
        x = self.pool1(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = self.pool2(x)
        x = paddle.reshape(x, [x.shape[0], 980])
        return self.fc(x)


COURSE = TrainConfig(loss="mse", optimizer="sgd", lr=0.01, epochs=10, log_interval=200)


def main():
    parser = lab_arguments(__doc__, epochs=COURSE.epochs)
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds for the CNN runs (default: --seed)")
    args = parse_lab_arguments(parser)
    seeds = args.seeds or [args.seed]
    out = lab_folder("lab03")
    course = replace(COURSE, epochs=args.epochs, seed=seeds[0])

    # 1. regression: linear, MLP, and the CNN in the course's setting and with a warm-up
    # (the linear model's 784 inputs make 2 * lr * |x|^2 about 16 at lr 0.01: it diverges; at 0.001 it learns)
    linear = fit(replace(course, model="linear", lr=0.001, out=f"{out}/linear"), lambda: LinearRegressor(1))
    mlp = fit(replace(course, model="mlp", out=f"{out}/mlp"), lambda: MLP(1))
    rows = [("linear (lr 0.001)", linear, None), ("mlp", mlp, None)]
    course_runs, warmup_runs = [], []
    for seed in seeds:
        for schedule, runs in (("constant", course_runs), ("warmup", warmup_runs)):
            name = f"cnn, seed {seed}, " + ("course" if schedule == "constant" else "warm-up")
            config = replace(course, model="cnn", seed=seed, lr_schedule=schedule, out=f"{out}/cnn-seed{seed}-{schedule}")
            try:
                result = fit(config, lambda: CNN(1))
            except UserError as error:  # the course setting can also blow up outright: part of what this lab shows
                print(f"{name}: diverged: {error}")
                continue
            runs.append(result.run)
            rows.append((name, result, dead_channels(result.model)))

    print(f"\n{'run':24s} {'final train loss':>16s} {'eval MSE':>9s} {'eval acc':>9s} {'dead conv2':>10s}")
    for name, result, dead in rows:
        print(f"{name:24s} {result.epochs[-1]['train_loss']:16.4f} {result.eval['loss']:9.4f} "
              f"{100 * result.eval['accuracy']:8.2f}%" + ("" if dead is None else f" {dead:10.0%}")
              + ("  stalled: constant output" if dead == 1 else ""))
    plot_runs([linear.run, mlp.run, *warmup_runs[:1]], f"{out}/linear_mlp_cnn.png",
              "train loss, MSE regression, SGD 0.01", ["linear (lr 0.001)", "MLP", "CNN (warm-up)"], logy=True)
    plot_runs(course_runs + warmup_runs, f"{out}/cnn_course_vs_warmup.png", "CNN train loss: course setting vs warm-up",
              [f"{run.config['lr_schedule']}, seed {run.config['seed']}" for run in course_runs + warmup_runs], logy=True)

    # 2. the same two networks as classifiers: where convolutions clearly win
    classifier = replace(course, loss="ce", epochs=max(1, args.epochs // 2), log_interval=100)
    classifiers = {"MLP": fit(replace(classifier, model="mlp", out=f"{out}/mlp-ce"), lambda: MLP(10)),
                   "CNN": fit(replace(classifier, model="cnn", out=f"{out}/cnn-ce"), lambda: CNN(10))}
    for name, result in classifiers.items():
        print(f"classifier {name}: eval accuracy {100 * result.eval['accuracy']:.2f}%, eval loss {result.eval['loss']:.4f}")
    curves = {}
    for name, result in classifiers.items():
        batches = result.run.records("batch")
        curves[f"{name} train loss"] = ([r["step"] for r in batches], [r["window_loss"] for r in batches])
    plot_curves(curves, f"{out}/classifiers_loss.png", "MLP vs CNN as classifiers (cross-entropy, SGD 0.01)", logy=True)
    accuracy = {f"{name} valid accuracy": ([e["epoch"] + 1 for e in result.epochs],
                                           [e["valid_accuracy"] for e in result.epochs])
                for name, result in classifiers.items()}
    plot_curves(accuracy, f"{out}/classifiers_accuracy.png", "MLP vs CNN as classifiers", xlabel="epoch",
                ylabel="valid accuracy")
    print(f"figures in {out}: linear_mlp_cnn.png, cnn_course_vs_warmup.png, classifiers_loss.png, "
          f"classifiers_accuracy.png")


@paddle.no_grad()
def dead_channels(model, count=1000):
    """The share of conv2's channels whose ReLU output is zero for every one of `count` valid images."""
    model.eval()
    images = paddle.to_tensor(load_course_data()["valid"][0][:count].reshape(-1, *IMAGE))
    activations = F.relu(model.conv2(model.pool1(F.relu(model.conv1(images))))).numpy()
    return float(np.mean(activations.max(axis=(0, 2, 3)) == 0))


if __name__ == "__main__":
    run_main(main)
