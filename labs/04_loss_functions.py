# %% [markdown]
# # Lab 04 · 损失函数: from regressing the digit to classifying it
#
# Course: chapter 2, 【手写数字识别】之损失函数 (COURSE.md, "Lab 4").
#
# A digit's label is a category, not a quantity: predicting 3.6 for a 4 says nothing useful. So the CNN
# gets 10 outputs, one score per digit; softmax turns scores into probabilities, and cross-entropy,
# -log p(true digit), punishes a confident wrong answer hard. On screen, as the course has them:
# 1. the worked numbers: softmax([3, 1, -3]) ~ [0.88, 0.12, 0], -log 0.6 = 0.51, -log 0.1 = 2.30,
#    computed and printed beside the course's, and the plot of log x for x in 0.01..1;
# 2. the course's three changes from lab 03's regression: `int64` labels, `Linear(980, 10)` as the last
#    layer (lab 03's CNN with `num_outputs=10`), `F.cross_entropy` as the loss;
# 3. training with SGD 0.01, batch 100, 10 epochs, the loss printed every 200 batches, then the course's
#    `evaluation()`: `paddle.metric.accuracy` on each batch, averaged;
# 4. reading a digit photo with the classifier (yours with `image`).
#
# **Deviations from the course.**
# - The same CNN is also trained as lab 03's regression (MSE, 1 output, rounded) with the same budget, so
#   the lab shows what the change buys; the course gives no such number (it is homework). The regression
#   clips the gradient norm at 1.0: without a cure the CNN regressor can stall at the mean (lab 03, whose
#   other cure, the warm-up, ends lower; clipping keeps every step small, which is enough for a
#   comparison with the classifier).
# - The plot shows -log p, the loss, beside the course's log x.
# - `evaluation()` reads every image: the course's `val_loader` drops the last partial batch
#   (`drop_last=True`) and averages per-batch accuracies; here the last batch is kept and the average is
#   weighted by batch size. `acc.numpy()` is a 0-D array since Paddle 2.5, so the course's
#   `acc_set.extend(acc.numpy())` fails: `float(acc)` instead. It is run on the valid split (the course's)
#   and the 10,000 eval images.
# - The loop is `fit()`'s (`digits.training`, the one lab 02 writes out), which also keeps a run folder.
# - The photo is read by `digits.evaluation.predict_photos` (argmax of the scores; the course: the last of
#   `np.argsort`, the same digit).
#
# As a script: `python labs/04_loss_functions.py` (`--help` lists its flags).

# %%
import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
import paddle.nn.functional as F
from digits.data import IMAGE, load_course_data, load_data
from digits.evaluation import predict_photos
from digits.lab import lab_setup, record
from digits.plots import plot_curves
from digits.preprocess import digit_photo
from digits.training import LOSS_FUNCTIONS, TrainConfig, fit, label_dtype, seed_everything
from models.cnn import CNN

# %% tags=["parameters"]
epochs = 10  # passes over the training set (the course's 10)
seed = 0  # fixes Python, NumPy (the loader's shuffle) and Paddle (the initial weights)
onednn = True  # the conv layers on oneDNN's kernels (False: Paddle's own, as the course ran them)
quick = False  # one epoch only: a smoke test, as CI runs the labs
image = []  # your own digit photos, a list of paths (empty: an eval digit drawn as a photo)

# %%
out = lab_setup("lab04", globals())  # a script's flags replace the values above; out = runs/lab04/<time>

# %% [markdown]
# ## 1. Softmax and cross-entropy, in numbers
# Softmax turns any ten scores into ten probabilities (positive, summing to 1); the largest score gets the
# largest share. Cross-entropy is then -log of the probability given to the true digit: 0.51 when it gets
# 0.6, 2.30 when it gets only 0.1, and without bound as it tends to 0. The course's numbers, computed:

# %%
scores = paddle.to_tensor([[3.0, 1.0, -3.0]])
probabilities = F.softmax(scores)
print(f"softmax([3, 1, -3]) = [{', '.join(f'{p:.4f}' for p in probabilities.numpy()[0])}]   "
      f"(course: ~ [0.88, 0.12, 0]); they sum to {float(probabilities.sum()):.4f}")
for p, course in ((0.6, "0.51"), (0.1, "2.30")):
    print(f"-log {p} = {float(-paddle.log(paddle.to_tensor(p))):.4f}   (course: {course})")
label = paddle.to_tensor([[0]])
print(f"cross-entropy of those scores if the true digit is the first: {float(F.cross_entropy(scores, label)):.4f} "
      f"= -log {float(probabilities[0, 0]):.4f}")

# %% [markdown]
# The course plots log x; its negative is the loss of one example as a function of the probability the
# model gives the true digit. Near p = 1 it is flat (little left to learn), near 0 it is steep: a confident
# wrong answer costs the most.

# %%
x = np.linspace(0.01, 1.0, 100)
figure = plot_curves({"log x (the course's plot)": (x, np.log(x)), "-log p, the cross-entropy": (x, -np.log(x))},
            f"{out}/log_x.png", "cross-entropy of one example", xlabel="x = p, the probability given to the true digit",
            ylabel="y")

# %% [markdown]
# ## 2. From regression to classification: the course's three changes
# Everything else (data, CNN body, optimizer, loop) stays as in lab 03. A model that knew nothing and said so
# would give every digit 0.1 and score -log 0.1 = 2.30; the untrained CNN's random scores are less even than
# that, so its first loss on a batch is of that order, somewhat higher: a check that the loss is wired right.

# %%
labels_dtype = "int64"                          # 1. a label is a class index, not a number to regress
make_classifier = lambda: CNN(num_outputs=10)   # 2. lab 03's CNN, its last layer Linear(980, 10)
loss_fn = F.cross_entropy                       # 3. softmax + -log p(true digit), averaged over the batch
# fit(loss="ce") makes exactly these two choices; check it, then let fit() run the loop
assert LOSS_FUNCTIONS["ce"] is loss_fn and label_dtype("ce") == labels_dtype

seed_everything(seed)
untrained = make_classifier()
print(f"the classifier's last layer: {untrained.fc}")
images, labels = next(load_data("train", 100, image_shape=IMAGE, label_dtype=labels_dtype)())
first_loss = float(loss_fn(untrained(paddle.to_tensor(images)), paddle.to_tensor(labels)))
print(f"untrained, on one batch: cross-entropy {first_loss:.4f} (a guess giving every digit 0.1 would score "
      f"-log 0.1 = 2.30; fit() below starts from these same weights and batch)")

# %% [markdown]
# ## 3. Training, regression against classification
# First the baseline: lab 03's regression of the same CNN (one output, MSE against the digit's value, the
# prediction rounded to score it), with the course's SGD 0.01 and the same number of epochs. The curves below
# the cell are drawn as it trains.

# %%
def config(loss):
    """The course's setting for this lab: SGD 0.01, batch 100 (TrainConfig's default), the loss every 200 batches."""
    return TrainConfig(model="cnn", loss=loss, optimizer="sgd", lr=0.01, epochs=epochs, seed=seed,
                       grad_clip=1.0 if loss == "mse" else 0.0, log_interval=200, out=f"{out}/cnn-{loss}")


regression = fit(config("mse"), lambda: CNN(num_outputs=1))

# %% [markdown]
# Then the classifier: ten outputs and cross-entropy, everything else the same. Its loss starts at the
# untrained value printed above (same seed, same weights, same first batch).

# %%
classification = fit(config("ce"), make_classifier)
classifier = classification.model
print(f"\nsame CNN, SGD 0.01, {epochs} epoch{'s' * (epochs > 1)}:")
print(f"  {'regression (MSE, clipped, rounded)':38s} eval accuracy {100 * regression.eval['accuracy']:.2f}%")
print(f"  {'classification (softmax + CE)':38s} eval accuracy {100 * classification.eval['accuracy']:.2f}%")

# %% [markdown]
# ## 4. The course's evaluation()
# The course scores the classifier with `paddle.metric.accuracy`, batch by batch. It must agree with the
# library's `evaluate()` (the numbers `fit()` printed): a second, independent count of the same thing.

# %%
@paddle.no_grad()
def evaluation(model, mode="valid", batch_size=128):
    """The course's evaluation(): paddle.metric.accuracy per batch, averaged over the batches (weighted by
    their size, so the last, smaller batch counts for its images)."""
    model.eval()
    accuracies, sizes = [], []
    for images, labels in load_data(mode, batch_size, image_shape=IMAGE, label_dtype="int64")():
        predicts = model(paddle.to_tensor(images))
        acc = paddle.metric.accuracy(input=predicts, label=paddle.to_tensor(labels))
        accuracies.append(float(acc))  # the course: acc_set.extend(acc.numpy()); acc is 0-D since Paddle 2.5
        sizes.append(len(images))
    model.train()
    return float(np.average(accuracies, weights=sizes))


agree = []  # evaluation() and evaluate() equal on each split (to float32 rounding, far below one image)
for mode, theirs in (("valid", classification.epochs[-1]["valid_accuracy"]), ("eval", classification.eval["accuracy"])):
    ours = evaluation(classifier, mode)
    print(f"evaluation() with paddle.metric.accuracy, {mode}: {100 * ours:.2f}% "
          f"(digits.training.evaluate: {100 * theirs:.2f}%)")
    agree.append(abs(ours - theirs) < 1e-6)

# %% [markdown]
# ## 5. Reading a digit photo
# The classifier's answer is the digit with the largest score; softmax of the scores says how sure it is.
# Without photos of your own (`image`), an eval digit is drawn as a photo (dark ink on white, as a phone
# would take it) and read back the way MNIST was made.

# %%
def eval_digit(index=0):
    """The first eval digit as uint8 pixels, read back from the course file (background 0, ink 255)."""
    data = load_course_data()
    background, ink = data.pixel_range
    pixels = (data["eval"][0][index] - background) / (ink - background) * 255
    return np.rint(pixels).reshape(28, 28).astype(np.uint8)


paths = image or [digit_photo(eval_digit(), f"{out}/photo.png")]
predicted = predict_photos(classifier, "ce", paths, None, f"{out}/photos.png")  # None: the course data file
record(out, classification_accuracy=classification.eval["accuracy"], regression_accuracy=regression.eval["accuracy"],
       evaluation_equals_evaluate=all(agree), softmax_top=probabilities.numpy()[0, 0])  # for the lab report
