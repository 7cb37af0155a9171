# %% [markdown]
# # Lab 00 · 通过极简方案构建手写数字识别模型: the house-price recipe, reused on digits
#
# Course section 2-1. The simplest possible attempt: paddle.vision's MNIST (60,000 training images),
# pixels / 255 flattened to 784 numbers, one `Linear(784, 1)` layer regressing the digit's value with mean
# squared error, SGD lr 0.001, batch 16, 10 epochs, the loss printed every 1000 batches. The course's
# loss falls from ~35 to a noisy 2-8 and its prediction for a photo of a 0 is "1": a straight line
# through pixel space cannot tell digits apart. Homework 2-1 asks for the test accuracy; it is printed.
#
# Then the course's next section (data processing) trains the same model on its own loader, whose labels
# have shape `[B]` while the model outputs `[B, 1]`. `F.square_error_cost(predicts, labels)` then broadcasts
# `[B, 1]` against `[B]` to a `[B, B]` matrix: every prediction is compared with every label of the batch, so
# the best the model can do is predict the batch's mean label, and the loss plateaus near the labels'
# variance (~8.3) instead of falling. The lab shows the shapes, trains both ways and fixes it with
# `labels.reshape([-1, 1])`, which every later lab's loader returns.
#
# **Deviations from the course.** paddle.vision reads the IDX files from `source` (offline; the course
# downloads them); `'pil'` instead of the course's `'cv2'` image backend (opencv is not a dependency);
# the photo prediction is left to lab 04 and `eval.py --image`; the `[B]` vs `[B, 1]` runs last 3 epochs.
#
# As a script: `python labs/00_minimal_linear.py` (`--help` lists its flags).

# %%
import os

import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
import paddle.nn.functional as F
from digits.errors import UserError
from digits.idx import FILES
from digits.lab import lab_setup, record
from digits.plots import LiveCurves
from digits.prepare import default_idx_folder
from digits.training import seed_everything

# %% tags=["parameters"]
epochs = 10  # passes over the training set (the course's 10)
seed = 0  # fixes Python, NumPy (the loader's shuffle) and Paddle (the initial weights)
quick = False  # one epoch on the first 2,000 training and 500 test images: a smoke test, as CI runs the labs
source = None  # folder of the four MNIST .gz files (None: MNIST_SOURCE, or work/mnist-idx)

# %%
out = lab_setup("lab00", globals())  # a script's flags replace the values above; out = runs/lab00/<time>

# %% [markdown]
# ## The data: paddle.vision's MNIST
# The course takes MNIST ready-made from `paddle.vision.datasets`: 60,000 training and 10,000 test images,
# each a 28x28 grid of pixels 0-255 with its label. Here it reads the four IDX files in `source`
# instead of downloading them. One sample is an image and a label of shape `[1]`.

# %%
source = source or os.environ.get("MNIST_SOURCE") or default_idx_folder()
if not all(os.path.exists(os.path.join(source, name)) for name in FILES.values()):
    raise UserError(f"{source} does not hold the four MNIST .gz files: set source to that folder (a script: "
                    f"--source DIR); paddle.vision reads them there instead of downloading")


def mnist_dataset(source, mode, quick):
    """paddle.vision's MNIST read from the local IDX files, each image as a 28x28 array (the DataLoader
    cannot batch PIL images); a slice of it in quick mode."""
    prefix = "train" if mode == "train" else "test"
    dataset = paddle.vision.datasets.MNIST(image_path=os.path.join(source, FILES[f"{prefix}_images"]),
                                           label_path=os.path.join(source, FILES[f"{prefix}_labels"]),
                                           mode=mode, backend="pil", download=False,
                                           transform=lambda image: np.asarray(image, dtype="float32"))
    return paddle.io.Subset(dataset, range(2000 if mode == "train" else 500)) if quick else dataset


train_set, test_set = mnist_dataset(source, "train", quick), mnist_dataset(source, "test", quick)
image, label = train_set[0]
print(f"{len(train_set)} training images; image 0: {np.asarray(image).shape}, label {label.shape} {label}")

# %% [markdown]
# ## From pixels to 784 numbers
# The house-price model took a row of 13 features; here the features are the pixels. `norm_img` scales
# them to [0, 1] and flattens each 28x28 image into one row of 784, so a batch becomes `[B, 784]`. The
# model sees a list of numbers: which pixel is next to which is lost.

# %%
def norm_img(img):
    """[B, 28, 28] pixels 0-255 -> [B, 784] in [0, 1], as the course normalises them."""
    return paddle.reshape(img.astype("float32") / 255, [img.shape[0], 784])


# %% [markdown]
# ## The training loop
# The house-price loop unchanged: batches of 16 from a shuffled `DataLoader`, the prediction, the squared
# error against the label, its mean, backward, one SGD step, clear the gradients. `flat_labels=True` gives
# the labels the shape `[B]` the course's own loader gives them (below). Every batch adds the mean loss
# of the last 50 batches to the curve: one batch of 16 is too noisy to read.

# %%
def train(model, dataset, epochs, live, label, flat_labels=False, log_interval=1000):
    """The course's loop. flat_labels=True gives the labels shape [B], as the course's own loader does."""
    loader = paddle.io.DataLoader(dataset, batch_size=16, shuffle=True)
    optimizer = paddle.optimizer.SGD(learning_rate=0.001, parameters=model.parameters())
    losses = []
    for epoch_id in range(epochs):
        for batch_id, (images, labels) in enumerate(loader()):
            images = norm_img(images)
            labels = paddle.reshape(labels, [-1]) if flat_labels else labels   # [B] or [B, 1]
            labels = labels.astype("float32")
            predicts = model(images)                                           # [B, 1]
            loss = F.square_error_cost(predicts, labels)                       # [B, 1], or [B, B] if broadcast
            avg_loss = paddle.mean(loss)
            avg_loss.backward()
            optimizer.step()
            optimizer.clear_grad()
            losses.append(float(avg_loss))
            live.add(label, len(losses), np.mean(losses[-50:]))
            if batch_id % log_interval == 0:
                print(f"epoch: {epoch_id}, batch_id: {batch_id}, loss is: {float(avg_loss):.4f}")
    return losses


# %% [markdown]
# ## Homework 2-1: the test accuracy
# A regression outputs a number, not a class. Rounding it to the nearest digit (0-9) and counting how
# often that is the label puts a number on how well the model recognises digits it has not seen.

# %%
@paddle.no_grad()
def test_accuracy(model, dataset):
    """Homework 2-1: how often the rounded prediction is the digit, on the 10,000 test images."""
    hits = count = 0
    for images, labels in paddle.io.DataLoader(dataset, batch_size=500)():
        predicts = model(norm_img(images)).numpy()
        hits += int(np.sum(np.clip(np.rint(predicts), 0, 9) == labels.numpy()))
        count += len(predicts)
    return hits / count


# %% [markdown]
# ## 1. The course's minimal model
# One `Linear(784, 1)` layer: 784 weights and a bias, a straight line through pixel space. The loss
# falls fast in the first epoch, then stays noisy around 3 (the course prints 1.6-7.8): a weighted sum
# of the pixels cannot tell the digits apart, and about one test digit in five comes out right.

# %%
seed_everything(seed)
model = paddle.nn.Linear(in_features=784, out_features=1)
live = LiveCurves("Linear(784, 1), MSE (mean of the last 50 batches)", logy=True)
losses = train(model, train_set, epochs, live, "Linear(784, 1), SGD 0.001")
print(f"loss curve: {live.save(f'{out}/loss.png')}")
minimal_loss, minimal_accuracy = np.mean(losses[-len(losses) // epochs:]), test_accuracy(model, test_set)
print(f"minimal model: last epoch's mean loss {minimal_loss:.4f}, "
      f"test accuracy (rounded prediction) {100 * minimal_accuracy:.2f}%")

# %% [markdown]
# ## 2. Labels `[B]` against predictions `[B, 1]`
# The course's own loader (lab 01) gives labels of shape `[B]`. `square_error_cost` does not complain: it
# broadcasts `[B, 1]` against `[B]` to `[B, B]`, comparing every prediction with every label of the
# batch. Sixteen zero predictions and the labels 0..15 show the shapes.

# %%
predicts, labels = paddle.zeros([16, 1]), paddle.arange(16).astype("float32")
print(f"square_error_cost of predictions {list(predicts.shape)} and labels {list(labels.shape)} has shape "
      f"{list(F.square_error_cost(predicts, labels).shape)}; with labels {list(labels.reshape([-1, 1]).shape)}: "
      f"{list(F.square_error_cost(predicts, labels.reshape([-1, 1])).shape)}")

# %% [markdown]
# ## The same model, trained with each label shape
# With the `[B, B]` loss each prediction is pulled towards every label of its batch, so the best it can
# do is the batch's mean label, whatever the image: the loss settles at the labels' variance and the
# accuracy at chance. With `[B, 1]` the same model, seed and data learn as in part 1. Three epochs each.

# %%
shape_epochs = min(epochs, 3)
live = LiveCurves("Linear(784, 1), MSE: label shape (mean of the last 50 batches)", logy=True)
by_shape = {}  # flat: (last epoch's mean loss, test accuracy)
for name, flat in (("labels [B] (broadcast to [B, B])", True), ("labels [B, 1]", False)):
    seed_everything(seed)
    model = paddle.nn.Linear(in_features=784, out_features=1)
    losses = train(model, train_set, shape_epochs, live, name, flat_labels=flat)
    last = np.mean(losses[-len(losses) // shape_epochs:])
    accuracy = test_accuracy(model, test_set)
    print(f"{name}: last epoch's mean loss {last:.4f}, test accuracy {100 * accuracy:.2f}%")
    by_shape[flat] = last, accuracy
all_labels = np.asarray(train_set.dataset.labels)[list(train_set.indices)] if quick else train_set.labels
print(f"the labels' variance, where the broadcast loss settles: {np.var(all_labels):.4f}")
print(f"figure: {live.save(f'{out}/label_shapes.png')}")
record(out, last_loss=minimal_loss, test_accuracy=minimal_accuracy, flat_loss=by_shape[True][0],
       flat_accuracy=by_shape[True][1], column_loss=by_shape[False][0], column_accuracy=by_shape[False][1],
       label_variance=np.var(all_labels))  # for the lab report
