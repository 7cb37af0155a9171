# %% [markdown]
# # Lab 03 · 网络结构 (CNN): a convolutional network for the same task, and when it beats the MLP
#
# Course section: 【手写数字识别】之网络结构 (the CNN half). The course's CNN: conv 20@5x5 -> relu ->
# max-pool 2, twice, then `Linear(980, 1)`, trained exactly like lab 02's MLP (MSE, SGD 0.01, batch 100,
# 10 epochs). The course shows its loss falling from ~29 to ~1.0 and says it falls faster and ends
# lower than the MLP's. From this lab on, training runs in the shared loop, `digits.training.fit`: its
# `train_step()` is lab 02's five lines, and `fit()` swaps the `Conv2D` layers below for oneDNN's faster
# ones from outside (`digits.onednn.accelerate`), so the class stays the course's.
#
# 1. Regression, as the course. The course's setting is fragile: at the first steps the error is large
#    (the net predicts ~0 for digits averaging 4.5) and the last layer's 980 inputs are large, so one SGD
#    step moves the output by about `2 * lr * error * |features|^2`, many times the error itself. The
#    output overshoots, gradients explode, and conv2's ReLUs can all die: the net then outputs a
#    constant, the mean label, and the loss sits at the label variance, 8.3. Whether it happens depends
#    on the seed. The principled cure is to make the first steps small while the error is large: a
#    learning-rate warm-up (0 -> 0.01 over the first epoch, then the course's constant rate, Goyal et
#    al. 2017). With it the CNN learns for every seed and ends below the MLP, as the course says.
# 2. The comparison where the CNN's advantage is real: the same MLP and CNN trained as classifiers
#    (softmax cross-entropy, lab 04's topic), loss and accuracy curves in one figure.
#
# **Deviations from the course.** The warm-up run is added beside the course's setting, and part 2 is new
# (the course compares the two only as regressions).
#
# As a script: `python labs/03_cnn_regression.py` (`--help` lists its flags; `--seeds 0 1 2` runs the
# full study).

# %%
from dataclasses import replace

import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
import paddle.nn.functional as F
from digits.data import IMAGE, load_course_data
from digits.errors import UserError
from digits.lab import lab_setup, record
from digits.plots import plot_curves, plot_runs
from digits.training import TrainConfig, fit
from models.linear import LinearRegressor
from models.mlp import MLP   # lab 02's MLP, kept in the library

# %% tags=["parameters"]
epochs = 10  # passes over the training set (the course's 10; the classifiers in part 2 train half as many)
seed = 0  # fixes Python, NumPy (the loader's shuffle) and Paddle (the initial weights)
seeds = []  # seeds of the CNN regressions, e.g. [0, 1, 2] (a script: --seeds 0 1 2) for the full study; []: seed
onednn = True  # run the conv layers on oneDNN's kernels; False: Paddle's own, as the course ran them
quick = False  # one epoch only: a smoke test, as CI runs the labs

# %%
out = lab_setup("lab03", globals())  # a script's flags replace the values above; out = runs/lab03/<time>
seeds = [int(s) for s in seeds] or [seed]  # a script's --seeds arrive as text

# %% [markdown]
# ## The network
# Two stages of convolution, ReLU and max-pooling, then one linear layer. Each 5x5 convolution looks at
# a small patch of the image and is slid over all of it, so the same stroke detector works anywhere in
# the digit, with 20 filters per layer. Padding 2 keeps 28x28; each pooling halves it (28 -> 14 -> 7), so
# the last layer sees 20 channels x 7 x 7 = 980 features. Unlike lab 02's MLP, the network knows which
# pixels are neighbours.

# %%
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


# %% [markdown]
# ## The course's setting, in the shared loop
# A `TrainConfig` holds what lab 02 wrote by hand: the loss, the optimizer, its learning rate, the
# epochs. `fit(config, make_model)` seeds, builds the model, runs lab 02's loop, prints the loss every
# `log_interval` batches, evaluates on the valid images after each epoch and on the test images at the
# end, and keeps everything in a run folder. The curve below each run is drawn as it trains.

# %%
course = TrainConfig(loss="mse", optimizer="sgd", lr=0.01, epochs=epochs, seed=seeds[0], log_interval=200)

# %% [markdown]
# ## 1. Regression: the linear model and the MLP
# The baselines first. The linear model is lab 00's: its 784 inputs make `2 * lr * |x|^2` about 16 at
# lr 0.01, so every step would overshoot by far and it diverges; at 0.001 it learns. The MLP is lab 02's.

# %%
linear = fit(replace(course, model="linear", lr=0.001, out=f"{out}/linear"), lambda: LinearRegressor(1))
mlp = fit(replace(course, model="mlp", out=f"{out}/mlp"), lambda: MLP(1))

# %% [markdown]
# ## Dead channels
# A ReLU outputs 0 for every negative input and passes no gradient there. A channel of conv2 that is
# negative for every image gets no gradient at all, so nothing ever moves it back: it is dead. When all
# 20 are dead the last layer sees only zeros and the network outputs its bias, one number for every image.

# %%
@paddle.no_grad()
def dead_channels(model, count=1000):
    """The share of conv2's channels whose ReLU output is zero for every one of `count` valid images."""
    model.eval()
    images = paddle.to_tensor(load_course_data()["valid"][0][:count].reshape(-1, *IMAGE))
    activations = F.relu(model.conv2(model.pool1(F.relu(model.conv1(images))))).numpy()
    return float(np.mean(activations.max(axis=(0, 2, 3)) == 0))


# %% [markdown]
# ## The CNN: the course's setting, and with a warm-up
# For each seed, the CNN twice: with the course's constant learning rate 0.01, and with a warm-up that
# raises it from 0 to 0.01 over the first epoch. Nothing else differs. With the constant rate the first
# steps overshoot, and the loss may stay at ~8.3, the labels' variance: what predicting the mean label
# for every image costs. The share of dead channels after training says why.

# %%
rows = [("linear (lr 0.001)", linear, None), ("mlp", mlp, None)]
course_runs, warmup_runs = [], []
for run_seed in seeds:
    for schedule, runs in (("constant", course_runs), ("warmup", warmup_runs)):
        name = f"cnn, seed {run_seed}, " + ("course" if schedule == "constant" else "warm-up")
        config = replace(course, model="cnn", seed=run_seed, lr_schedule=schedule,
                         out=f"{out}/cnn-seed{run_seed}-{schedule}")
        try:
            result = fit(config, lambda: CNN(1))
        except UserError as error:  # the course setting can also blow up outright: part of what this lab shows
            print(f"{name}: diverged: {error}")
            continue
        runs.append(result.run)
        rows.append((name, result, dead_channels(result.model)))

# %% [markdown]
# ## Comparing the regressions
# One row per run: the last epoch's train loss, the mean squared error on the test images, how often
# the rounded prediction is the digit, and the share of dead conv2 channels. Then the loss curves side
# by side: linear, MLP and the warmed-up CNN, and each CNN run with and without the warm-up.

# %%
print(f"\n{'run':24s} {'final train loss':>16s} {'eval MSE':>9s} {'eval acc':>9s} {'dead conv2':>10s}")
for name, result, dead in rows:
    print(f"{name:24s} {result.epochs[-1]['train_loss']:16.4f} {result.eval['loss']:9.4f} "
          f"{100 * result.eval['accuracy']:8.2f}%" + ("" if dead is None else f" {dead:10.0%}")
          + ("  stalled: constant output" if dead == 1 else ""))
loss_figures = (
    plot_runs([linear.run, mlp.run, *warmup_runs[:1]], f"{out}/linear_mlp_cnn.png",
              "train loss, MSE regression, SGD 0.01", ["linear (lr 0.001)", "MLP", "CNN (warm-up)"], logy=True),
    plot_runs(course_runs + warmup_runs, f"{out}/cnn_course_vs_warmup.png", "CNN train loss: course setting vs warm-up",
              [f"{run.config['lr_schedule']}, seed {run.config['seed']}" for run in course_runs + warmup_runs],
              logy=True),
)

# %% [markdown]
# ## 2. The same two networks as classifiers
# Even the best regression gets a rounded digit right only about 60% of the time: it treats the labels as
# quantities, so a 1 that looks a bit like a 7 comes out near 4, which is neither. Trained as classifiers
# instead (10 outputs, softmax cross-entropy: lab 04's topic, same SGD 0.01, half the epochs), the two
# networks part clearly.

# %%
classifier = replace(course, loss="ce", epochs=max(1, epochs // 2), log_interval=100)
classifiers = {"MLP": fit(replace(classifier, model="mlp", out=f"{out}/mlp-ce"), lambda: MLP(10)),
               "CNN": fit(replace(classifier, model="cnn", out=f"{out}/cnn-ce"), lambda: CNN(10))}

# %% [markdown]
# ## Comparing the classifiers
# The test accuracy of each, their loss curves in one figure and their valid accuracy after each epoch
# in another.

# %%
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
eval_mse = {name: result.eval["loss"] for name, result, _ in rows}  # a run that diverged has no row: nan
dead_share = {name: share for name, _, share in rows}
record(out, mlp_mse=mlp.eval["loss"], cnn_course_mse=eval_mse.get(f"cnn, seed {seeds[0]}, course", np.nan),
       cnn_course_dead=dead_share.get(f"cnn, seed {seeds[0]}, course", np.nan),
       cnn_warmup_mse=eval_mse.get(f"cnn, seed {seeds[0]}, warm-up", np.nan),
       mlp_classifier_accuracy=classifiers["MLP"].eval["accuracy"],
       cnn_classifier_accuracy=classifiers["CNN"].eval["accuracy"])  # for the lab report
