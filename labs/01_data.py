# %% [markdown] lang="en"
# # Lab 01 · 数据处理: the course's data loader, checked, and the library's
#
# - **Course:** 【手写数字识别】之数据处理.
# - **You build:** the course's loader `load_data(mode)` for `work/mnist.json.gz` (read, pick a split, shuffle,
#   batches of 100), then Paddle's own `Dataset` and `DataLoader` (the course's asynchronous variant).
# - **You will see:** the machine check (机器校验) and the human check (人工校验) of its batches, and the
#   library's loader, which every later lab uses, yielding the very same batches much faster.
#
# As a script: `python labs/01_data.py` (`--help` lists its flags).

# %% [markdown] lang="zh"
# # 实验 01 · 数据处理：校验课程的数据读取器，再换成共享库的读取器
#
# - **对应课程章节**：【手写数字识别】之数据处理。
# - **本实验要做的**：写出课程的数据读取器 `load_data(mode)`，读取 `work/mnist.json.gz`（读文件、选出
#   数据集、打乱顺序、每 100 个样本组成一个 batch）；再用 Paddle 自己的 `Dataset` 和 `DataLoader`
#   （即课程中的异步数据读取）。
# - **你会看到**：对读取器产出的 batch 做机器校验和人工校验；共享库的读取器（后面每个实验都用它）
#   产出完全相同的 batch，而且快得多。
#
# 作为脚本运行：`python labs/01_data.py`（`--help` 列出所有参数）。

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

# %% [markdown] lang="en"
# ## The course's loader
# The course keeps MNIST in one file, `work/mnist.json.gz`: `[train_set, val_set, eval_set]`, each
# `[imgs, labels]`. `load_data(mode)` reads the whole file, takes one split, checks that it has as many
# labels as images, and returns a generator function: each call starts a new pass (an epoch) that yields
# `(images [B, 784], labels [B])` batches of 100. Only the training split is shuffled, in a new order every
# epoch, so that the model does not see the digits in the same sequence each time; valid and eval keep
# their order. The last, smaller batch is kept.

# %% [markdown] lang="zh"
# ## 课程的数据读取器
# 课程把 MNIST 存在一个文件 `work/mnist.json.gz` 里：内容是 `[train_set, val_set, eval_set]`，每一部分
# 都是 `[imgs, labels]`。`load_data(mode)` 读入整个文件，取出其中一个数据集，检查图片和标签的数量
# 是否一致，然后返回一个生成器函数：每调用一次，就开始新的一遍（一轮），产出 100 个样本的
# `(images [B, 784], labels [B])` batch。只有训练集打乱顺序，而且每轮的顺序都不同，这样模型不会
# 每次都按同样的次序看到这些数字；valid 和 eval 保持原来的顺序。最后那个较小的 batch 也保留。

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


# %% [markdown] lang="en"
# The library keeps this loader, unchanged, as `digits.courseloader.load_data`: lab 15 and the benchmarks
# start from it.
#
# ## Read the file, count the batches
# Each split goes through the loader once: how many images and batches it holds. On the full file the
# course's three splits are 50,000 / 10,000 / 10,000 images; note how long parsing the JSON takes (the
# course's loader parses it again for every split).

# %% [markdown] lang="zh"
# 共享库把这个读取器原样保存为 `digits.courseloader.load_data`：实验 15 和基准测试都从它出发。
#
# ## 读取文件，统计 batch 数
# 每个数据集都用读取器完整读一遍：看看各有多少张图片、多少个 batch。用完整的数据文件时，课程的
# 三个数据集分别有 50,000 / 10,000 / 10,000 张图片。留意解析 JSON 花了多长时间（课程的读取器每读
# 一个数据集都要重新解析一次）。

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

# %% [markdown] lang="en"
# ## Machine check (机器校验)
# Before training on the data, check what a batch is: its shapes and types, the range of the pixels
# (the network's input scale) and the labels (0-9, about as many of each). A wrong shape or range here
# shows up later only as a model that trains badly.

# %% [markdown] lang="zh"
# ## 机器校验
# 用数据训练之前，先检查一个 batch 是什么样子：形状和数据类型，像素值的范围（也就是网络输入的
# 尺度），还有标签（0-9，每个数字的数量大致相同）。这里的形状或范围如果错了，后面只会表现为
# 模型训练得不好。

# %%
images, labels = next(train_loader())
print(f"first train batch: images {images.shape} {images.dtype}, labels {labels.shape} {labels.dtype}")

data = load_course_data(datafile)
background, ink = data.pixel_range
all_images, all_labels = data["train"]
print(f"pixels in [{all_images.min():g}, {all_images.max():g}]: the file uses [{background:g}, {ink:g}], "
      f"background {background:g}")
print(f"labels {all_labels.min()}..{all_labels.max()}, train class counts {np.bincount(all_labels).tolist()}")

# %% [markdown] lang="en"
# ## Human check (人工校验)
# Numbers cannot show that an image is a digit or that its label is the right one: look at a few, with
# their labels above them.

# %% [markdown] lang="zh"
# ## 人工校验
# 光看数值，没法知道一张图片是不是数字、它的标签对不对：挑几张画出来看看，标签写在每张图的上方。

# %%
print(f"wrote {plot_digits(images[:30], labels[:30].astype(int), f'{out}/samples.png', 'train samples and labels')}")

# %% [markdown] lang="en"
# ## The library's loader: the same batches, faster
# `digits.data.load_data`, which the later labs use, is this loader with the JSON parsed once and its
# NumPy arrays cached beside the file, each batch cut from them in one step instead of image by image.
# From the same seed it shuffles the same way, so its first batches must equal the course's (its labels
# come as `[B, 1]`, see lab 00). Then one shuffled epoch of each, timed. It also gives the CNN's input
# shape `[B, 1, 28, 28]` and integer class labels, which labs 03 and 04 use.

# %% [markdown] lang="zh"
# ## 共享库的读取器：同样的 batch，更快
# 后面的实验用的 `digits.data.load_data` 就是这个读取器，只是 JSON 只解析一次，解析出的 NumPy
# 数组缓存在数据文件旁边，每个 batch 从数组中一次切出来，而不是一张一张地拼。用同一个随机种子，
# 它打乱的方式和课程的一样，所以前几个 batch 必须与课程的相同（它的标签是 `[B, 1]`，见实验 00）。
# 然后两个读取器各跑一轮打乱后的数据，计时比较。它还能给出 CNN 需要的输入形状 `[B, 1, 28, 28]`
# 和整数类别标签，实验 03 和 04 会用到。

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

# %% [markdown] lang="en"
# ## The asynchronous variant: `Dataset` and `DataLoader`
# Paddle's own way: a `paddle.io.Dataset` says how many samples there are and returns one by index;
# `paddle.io.DataLoader` batches and shuffles them (and can read ahead in worker processes while the
# model trains). This is the course's asynchronous variant.

# %% [markdown] lang="zh"
# ## 异步数据读取：`Dataset` 和 `DataLoader`
# Paddle 自己的做法：`paddle.io.Dataset` 说明一共有多少个样本，并按索引返回其中一个；
# `paddle.io.DataLoader` 负责把样本组成 batch、打乱顺序（还可以在模型训练的同时，用子进程提前
# 读取数据）。这就是课程中的异步数据读取。

# %%
loader = paddle.io.DataLoader(MnistDataset("train"), batch_size=100, shuffle=True, drop_last=True)
images, labels = next(iter(loader))
print(f"DataLoader: {len(loader)} batches per epoch, images {images.shape}, labels {labels.shape} {labels.dtype}")
record(out, train_images=counts["train"], valid_images=counts["valid"], eval_images=counts["eval"],
       parse_seconds=parse_seconds, same_batches=same, course_epoch_seconds=course_epoch,
       library_epoch_seconds=library_epoch)  # for the lab report

# %% [markdown] lang="en"
# ## How this lab differs from the course
# - The index list is shuffled with NumPy's RNG (`np.random.shuffle`) rather than Python's `random.shuffle`,
#   so that one seed gives the library's loader the same order.
# - The library returns labels of shape `[B, 1]`: the course's `[B]` makes the MSE loss broadcast (lab 00).
# - The library parses the JSON once and caches its arrays, where the course parses it for every split.

# %% [markdown] lang="zh"
# ## 与课程的不同
# - 索引列表用 NumPy 的随机数生成器（`np.random.shuffle`）打乱，而不是 Python 的 `random.shuffle`，
#   这样同一个随机种子能让共享库的读取器得到相同的顺序。
# - 共享库返回的标签形状是 `[B, 1]`：课程的 `[B]` 会让均方误差损失发生广播（见实验 00）。
# - 共享库只解析一次 JSON 并缓存解析出的数组，而课程每读一个数据集都要重新解析一次。
