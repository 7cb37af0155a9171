# %% [markdown]
# # Lab 01 · 数据处理: the course's data loader, checked, and the library's
#
# Course section: 【手写数字识别】之数据处理. The course keeps MNIST in one file, `work/mnist.json.gz`:
# `[train_set, val_set, eval_set]`, each `[imgs, labels]`. Its `load_data(mode)` reads the file, picks a
# split, checks that images and labels match in number, and returns a generator function that yields
# batches of 100 (shuffled in train mode; the last partial batch kept). This lab writes that loader out,
# checks what comes out (machine check, 机器校验), looks at the digits (human check, 人工校验), then shows
# that the library's loader (`digits.data.load_data`, which every later lab uses) yields the very same
# batches much faster, and ends with Paddle's own `Dataset`/`DataLoader` (the course's asynchronous variant).
#
# **Deviations from the course.** The index list is shuffled with NumPy's RNG (`np.random.shuffle`) rather
# than Python's `random.shuffle`, so that one seed gives the library's loader the same order; the library
# returns labels of shape `[B, 1]` (the course's `[B]` makes the MSE loss broadcast, see lab 00); the
# library parses the JSON once and caches its arrays, where the course parses it for every split.
#
# As a script: `python labs/01_data.py` (`--help` lists its flags).

# %%
import gzip
import json
import time

import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
from digits.data import IMAGE, load_course_data
from digits.data import load_data as library_load_data
from digits.dataset import MnistDataset
from digits.lab import lab_setup, record
from digits.plots import plot_digits
from digits.prepare import ensure_datafile

# %% tags=["parameters"]
seed = 0  # fixes NumPy's shuffle, so the course's and the library's loader can be compared batch by batch
quick = False  # a smoke test, as CI runs the labs (this lab trains nothing: the small data file is what makes it quick)

# %%
out = lab_setup("lab01", globals())  # a script's flags replace the values above; out = runs/lab01/<time>
datafile = ensure_datafile()  # work/mnist.json.gz, or the file MNIST_JSON names

# %% [markdown]
# ## The course's loader
# `load_data(mode)` reads the whole file, takes one split and returns a generator function: each call
# starts a new pass (an epoch) that yields `(images [B, 784], labels [B])` batches of 100. Only the
# training split is shuffled, in a new order every epoch, so that the model does not see the digits in
# the same sequence each time; valid and eval keep their order. The last, smaller batch is kept.

# %%
def load_data(mode="train", datafile="./work/mnist.json.gz", batch_size=100):
    """The course's loader: a generator function over (images [B, 784], labels [B]) batches of `mode`."""
    data = json.load(gzip.open(datafile))
    train_set, val_set, eval_set = data
    if mode == "train":
        imgs, labels = train_set[0], train_set[1]
    elif mode == "valid":
        imgs, labels = val_set[0], val_set[1]
    elif mode == "eval":
        imgs, labels = eval_set[0], eval_set[1]
    else:
        raise Exception("mode can only be one of ['train', 'valid', 'eval']")
    imgs_length = len(imgs)
    assert len(imgs) == len(labels), \
        f"length of train_imgs({len(imgs)}) should be the same as that of train_labels({len(labels)})"
    index_list = list(range(imgs_length))

    def data_generator():
        if mode == "train":
            np.random.shuffle(index_list)   # a new order every epoch
        imgs_list, labels_list = [], []
        for i in index_list:
            imgs_list.append(np.array(imgs[i]).astype("float32"))
            labels_list.append(np.array(labels[i]).astype("float32"))
            if len(imgs_list) == batch_size:
                yield np.array(imgs_list), np.array(labels_list)
                imgs_list, labels_list = [], []
        if len(imgs_list) > 0:   # the last, smaller batch
            yield np.array(imgs_list), np.array(labels_list)

    return data_generator


# %% [markdown]
# The library keeps this loader, unchanged, as `digits.courseloader.load_data`: lab 15 and the benchmarks
# start from it.
#
# ## Read the file, count the batches
# Each split goes through the loader once: how many images and batches it holds. On the full file the
# course's three splits are 50,000 / 10,000 / 10,000 images; note how long parsing the JSON takes (the
# course's loader parses it again for every split).

# %%
started = time.perf_counter()
train_loader = load_data("train", datafile)
parse_seconds = time.perf_counter() - started
print(f"the course's loader read {datafile} in {parse_seconds:.1f}s")
counts = {}  # images per split
for mode in ("train", "valid", "eval"):
    images = [batch for batch, _ in (load_data(mode, datafile) if mode != "train" else train_loader)()]
    counts[mode] = sum(len(b) for b in images)
    print(f"{mode:5s}: {counts[mode]} images in {len(images)} batches")

# %% [markdown]
# ## Machine check (机器校验)
# Before training on the data, check what a batch is: its shapes and types, the range of the pixels
# (the network's input scale) and the labels (0-9, about as many of each). A wrong shape or range here
# shows up later only as a model that trains badly.

# %%
images, labels = next(train_loader())
print(f"first train batch: images {images.shape} {images.dtype}, labels {labels.shape} {labels.dtype}")

data = load_course_data(datafile)
background, ink = data.pixel_range
all_images, all_labels = data["train"]
print(f"pixels in [{all_images.min():g}, {all_images.max():g}]: the file uses [{background:g}, {ink:g}], "
      f"background {background:g}")
print(f"labels {all_labels.min()}..{all_labels.max()}, train class counts {np.bincount(all_labels).tolist()}")

# %% [markdown]
# ## Human check (人工校验)
# Numbers cannot show that an image is a digit or that its label is the right one: look at a few, with
# their labels above them.

# %%
print(f"wrote {plot_digits(images[:30], labels[:30].astype(int), f'{out}/samples.png', 'train samples and labels')}")

# %% [markdown]
# ## The library's loader: the same batches, faster
# `digits.data.load_data`, which the later labs use, is this loader with the JSON parsed once and its
# NumPy arrays cached beside the file, each batch cut from them in one step instead of image by image.
# From the same seed it shuffles the same way, so its first batches must equal the course's (its labels
# come as `[B, 1]`, see lab 00). Then one shuffled epoch of each, timed. It also gives the CNN's input
# shape `[B, 1, 28, 28]` and integer class labels, which labs 03 and 04 use.

# %%
def epoch_seconds(loader):
    started = time.perf_counter()
    batches = sum(1 for _ in loader())
    return time.perf_counter() - started, batches


np.random.seed(seed)
course_batches = [batch for _, batch in zip(range(3), load_data("train", datafile)())]
np.random.seed(seed)
library_batches = [batch for _, batch in zip(range(3), library_load_data("train", datafile=datafile)())]
same = all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1][:, 0])
           for a, b in zip(course_batches, library_batches))
print(f"same seed, first 3 batches of the course's and the library's loader equal: {same}")
course_epoch, batches = epoch_seconds(train_loader)
library_epoch, _ = epoch_seconds(library_load_data("train", datafile=datafile))
print(f"one shuffled epoch of {batches} batches: the course's loader {course_epoch:.3f}s, the library's "
      f"{library_epoch:.3f}s ({course_epoch / library_epoch:.0f}x faster)")
cnn_images, class_labels = next(library_load_data("eval", image_shape=IMAGE, label_dtype="int64",
                                                  datafile=datafile)())
print(f"for the CNN, as classes: images {cnn_images.shape}, labels {class_labels.shape} {class_labels.dtype}")

# %% [markdown]
# ## The asynchronous variant: `Dataset` and `DataLoader`
# Paddle's own way: a `paddle.io.Dataset` says how many samples there are and returns one by index;
# `paddle.io.DataLoader` batches and shuffles them (and can read ahead in worker processes while the
# model trains).

# %%
loader = paddle.io.DataLoader(MnistDataset("train"), batch_size=100, shuffle=True, drop_last=True)
images, labels = next(iter(loader))
print(f"DataLoader: {len(loader)} batches per epoch, images {images.shape}, labels {labels.shape} {labels.dtype}")
record(out, train_images=counts["train"], valid_images=counts["valid"], eval_images=counts["eval"],
       parse_seconds=parse_seconds, same_batches=same, course_epoch_seconds=course_epoch,
       library_epoch_seconds=library_epoch)  # for the lab report
