# %% [markdown] lang="en"
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

# %% [markdown] lang="zh"
# # 实验 00 · 通过极简方案构建手写数字识别模型：把房价预测的做法搬到数字上
#
# 对应课程章节：2-1。这是最简单的尝试：数据用 paddle.vision 的 MNIST（60,000 张训练图片），
# 像素除以 255 后展平成 784 个数；模型只有一个 `Linear(784, 1)` 层，用均方误差回归数字的值；
# SGD，学习率 0.001，batch 16，训练 10 轮，每 1000 个 batch 打印一次损失。课程中的损失从约 35
# 降到 2-8 之间来回波动，对一张数字 0 的照片，它的预测是“1”：像素空间里的一条直线分不开各个数字。
# 作业 2-1 要求计算测试集上的准确率，本实验会把它打印出来。
#
# 课程的下一节（【手写数字识别】之数据处理）用自己写的数据读取器训练同一个模型。这个读取器给出的标签
# 形状是 `[B]`，而模型输出的是 `[B, 1]`。这时 `F.square_error_cost(predicts, labels)` 会把 `[B, 1]`
# 和 `[B]` 广播成 `[B, B]` 的矩阵：batch 里的每个预测值都要和每个标签比较。模型最多只能学会预测这个
# batch 的平均标签，损失停在标签的方差（约 8.3）附近，降不下去。本实验先看各个形状，再用两种标签
# 形状分别训练，最后用 `labels.reshape([-1, 1])` 修正；后面所有实验的数据读取器返回的都是这种形状。
#
# **与课程的不同。** paddle.vision 从 `source` 读取 IDX 文件（离线读取；课程是下载的）；图片后端用
# `'pil'`，不用课程的 `'cv2'`（本项目不依赖 opencv）；对照片的预测留给实验 04 和 `eval.py --image`；
# 标签 `[B]` 与 `[B, 1]` 的对比训练只跑 3 轮。
#
# 作为脚本运行：`python labs/00_minimal_linear.py`（`--help` 列出所有参数）。

# %%
import os

import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
import paddle.nn.functional as F
from digits.idx import FILES
from digits.lab import lab_setup, record
from digits.plots import LiveCurves
from digits.prepare import ensure_idx_folder
from digits.training import seed_everything

# %% tags=["parameters"]
epochs = 10  # passes over the training set (the course's 10)
seed = 0  # fixes Python, NumPy (the loader's shuffle) and Paddle (the initial weights)
quick = False  # one epoch on the first 2,000 training and 500 test images: a smoke test, as CI runs the labs
source = None  # folder of the four MNIST .gz files (None: MNIST_SOURCE, else work/mnist-idx, downloaded once)

# %%
out = lab_setup("lab00", globals())  # a script's flags replace the values above; out = runs/lab00/<time>

# %% [markdown] lang="en"
# ## The data: paddle.vision's MNIST
# The course takes MNIST ready-made from `paddle.vision.datasets`: 60,000 training and 10,000 test images,
# each a 28x28 grid of pixels 0-255 with its label. Here it reads the four IDX files in `source`
# instead of downloading them. One sample is an image and a label of shape `[1]`.

# %% [markdown] lang="zh"
# ## 数据：paddle.vision 的 MNIST
# 课程直接用 `paddle.vision.datasets` 中现成的 MNIST：60,000 张训练图片和 10,000 张测试图片，
# 每张是 28x28 的像素网格，像素值为 0-255，并带有标签。这里不下载，而是从 `source` 读取四个 IDX
# 文件。一个样本就是一张图片加一个形状为 `[1]` 的标签。

# %%
source = ensure_idx_folder(source)  # source, MNIST_SOURCE, or work/mnist-idx (downloaded once, checked)


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

# %% [markdown] lang="en"
# ## From pixels to 784 numbers
# The house-price model took a row of 13 features; here the features are the pixels. `norm_img` scales
# them to [0, 1] and flattens each 28x28 image into one row of 784, so a batch becomes `[B, 784]`. The
# model sees a list of numbers: which pixel is next to which is lost.

# %% [markdown] lang="zh"
# ## 从像素到 784 个数
# 房价预测模型的输入是一行 13 个特征；这里的特征就是像素。`norm_img` 把像素缩放到 [0, 1]，
# 再把每张 28x28 的图片展平成一行 784 个数，一个 batch 就成了 `[B, 784]`。模型看到的只是一串数：
# 哪个像素挨着哪个像素，这个信息丢掉了。

# %%
def norm_img(img):
    """[B, 28, 28] pixels 0-255 -> [B, 784] in [0, 1], as the course normalises them."""
    return paddle.reshape(img.astype("float32") / 255, [img.shape[0], 784])


# %% [markdown] lang="en"
# ## The training loop
# The house-price loop unchanged: batches of 16 from a shuffled `DataLoader`, the prediction, the squared
# error against the label, its mean, backward, one SGD step, clear the gradients. `flat_labels=True` gives
# the labels the shape `[B]` the course's own loader gives them (below). Every 50 batches add their mean
# loss to the curve: one batch of 16 is too noisy to read.

# %% [markdown] lang="zh"
# ## 训练循环
# 与房价预测的循环完全一样：从打乱顺序的 `DataLoader` 中每次取 16 个样本，算出预测值，求它与标签的
# 平方误差并取平均，反向传播，SGD 走一步，清除梯度。`flat_labels=True` 让标签的形状变成 `[B]`，
# 与课程自己的数据读取器给出的一样（见下文）。每 50 个 batch，把这 50 个 batch 的平均损失加到
# 曲线上：只有 16 个样本的单个 batch 噪声太大，看不出趋势。

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
            live.add_batch(label, len(losses), losses[-1])   # a point per 50 batches: their mean
            if batch_id % log_interval == 0:
                print(f"epoch: {epoch_id}, batch_id: {batch_id}, loss is: {float(avg_loss):.4f}")
    live.flush(label)  # the last, shorter window
    return losses


# %% [markdown] lang="en"
# ## Homework 2-1: the test accuracy
# A regression outputs a number, not a class. Rounding it to the nearest digit (0-9) and counting how
# often that is the label puts a number on how well the model recognises digits it has not seen.

# %% [markdown] lang="zh"
# ## 作业 2-1：测试集准确率
# 回归模型输出的是一个数，不是类别。把它四舍五入到最近的数字（0-9），统计它等于标签的比例，
# 就能用一个数说明模型认没见过的数字认得怎么样。

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


# %% [markdown] lang="en"
# ## 1. The course's minimal model
# One `Linear(784, 1)` layer: 784 weights and a bias, a straight line through pixel space. The loss
# falls fast in the first epoch, then stays noisy around 3 (the course prints 1.6-7.8): a weighted sum
# of the pixels cannot tell the digits apart, and about one test digit in five comes out right.

# %% [markdown] lang="zh"
# ## 1. 课程的极简模型
# 只有一个 `Linear(784, 1)` 层：784 个权重加一个偏置，相当于像素空间里的一条直线。第一轮损失下降
# 很快，之后在 3 附近来回波动（课程打印的是 1.6-7.8）：像素的加权和分不开各个数字，测试集上
# 大约五个数字只认对一个。

# %%
seed_everything(seed)
model = paddle.nn.Linear(in_features=784, out_features=1)
live = LiveCurves("Linear(784, 1), MSE (mean of 50 batches)", logy=True, window=50)
losses = train(model, train_set, epochs, live, "Linear(784, 1), SGD 0.001")
print(f"loss curve: {live.save(f'{out}/loss.png')}")
minimal_loss, minimal_accuracy = np.mean(losses[-len(losses) // epochs:]), test_accuracy(model, test_set)
print(f"minimal model: last epoch's mean loss {minimal_loss:.4f}, "
      f"test accuracy (rounded prediction) {100 * minimal_accuracy:.2f}%")

# %% [markdown] lang="en"
# ## 2. Labels `[B]` against predictions `[B, 1]`
# The course's own loader (lab 01) gives labels of shape `[B]`. `square_error_cost` does not complain: it
# broadcasts `[B, 1]` against `[B]` to `[B, B]`, comparing every prediction with every label of the
# batch. Sixteen zero predictions and the labels 0..15 show the shapes.

# %% [markdown] lang="zh"
# ## 2. 标签 `[B]` 对上预测值 `[B, 1]`
# 课程自己的数据读取器（实验 01）给出的标签形状是 `[B]`。`square_error_cost` 不会报错：它把
# `[B, 1]` 和 `[B]` 广播成 `[B, B]`，batch 里的每个预测值都和每个标签比较。下面用 16 个为零的
# 预测值和标签 0..15 来看各个形状。

# %%
predicts, labels = paddle.zeros([16, 1]), paddle.arange(16).astype("float32")
print(f"square_error_cost of predictions {list(predicts.shape)} and labels {list(labels.shape)} has shape "
      f"{list(F.square_error_cost(predicts, labels).shape)}; with labels {list(labels.reshape([-1, 1]).shape)}: "
      f"{list(F.square_error_cost(predicts, labels.reshape([-1, 1])).shape)}")

# %% [markdown] lang="en"
# ## The same model, trained with each label shape
# With the `[B, B]` loss each prediction is pulled towards every label of its batch, so the best it can
# do is the batch's mean label, whatever the image: the loss settles at the labels' variance and the
# accuracy at chance. With `[B, 1]` the same model, seed and data learn as in part 1. Three epochs each.

# %% [markdown] lang="zh"
# ## 同一个模型，分别用两种标签形状训练
# 损失是 `[B, B]` 时，每个预测值都被拉向所在 batch 的每一个标签，所以不管输入什么图片，模型最多只能
# 输出这个 batch 的平均标签：损失停在标签的方差上，准确率和瞎猜差不多。标签是 `[B, 1]` 时，同一个
# 模型、同一个随机种子、同样的数据，能像第 1 部分那样正常学习。两种形状各训练 3 轮。

# %%
shape_epochs = min(epochs, 3)
live = LiveCurves("Linear(784, 1), MSE: label shape (mean of 50 batches)", logy=True, window=50)
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
