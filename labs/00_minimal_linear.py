# %% [markdown] lang="en"
# # Lab 00 · 通过极简方案构建手写数字识别模型: the house-price recipe, reused on digits
#
# - **Course:** 通过极简方案构建手写数字识别模型 (with homework 2-1), and the label-shape pitfall of
#   【手写数字识别】之数据处理.
# - **You build:** one `Linear(784, 1)` layer that regresses the digit's value from its 784 pixels, trained
#   with the house-price loop; then the same model with labels of shape `[B]` and `[B, 1]`.
# - **You will see:** why a straight line through pixel space reads digits badly (the test accuracy, a photo
#   of a 0), and how `[B]` labels broadcast the loss to `[B, B]` and stop it from falling.
#
# As a script: `python labs/00_minimal_linear.py` (`--help` lists its flags).

# %% [markdown] lang="zh"
# # 实验 00 · 通过极简方案构建手写数字识别模型：把房价预测的做法搬到数字上
#
# - **对应课程章节**：通过极简方案构建手写数字识别模型（含作业 2-1），以及【手写数字识别】之数据处理中
#   标签形状的陷阱。
# - **本实验要做的**：用一个 `Linear(784, 1)` 层，从 784 个像素回归出数字的值，训练循环照搬房价预测；
#   再把同一个模型分别用形状为 `[B]` 和 `[B, 1]` 的标签训练。
# - **你会看到**：为什么像素空间里的一条直线认不好数字（测试集准确率，一张数字 0 的照片）；以及标签
#   为 `[B]` 时，损失怎样被广播成 `[B, B]`，再也降不下去。
#
# 作为脚本运行：`python labs/00_minimal_linear.py`（`--help` 列出所有参数）。

# %%
import os

import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
import paddle.nn.functional as F
from digits.evaluation import predict_photos
from digits.idx import FILES
from digits.lab import lab_setup, record
from digits.plots import LiveCurves
from digits.prepare import ensure_idx_folder
from digits.preprocess import digit_photo, load_photo
from digits.reading import read
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
# error against the label, its mean, backward, one SGD step (learning rate 0.001), clear the gradients.
# As in the course, 10 epochs, the loss printed every 1000 batches. `flat_labels=True` gives the labels the
# shape `[B]` the course's own loader gives them (below). Every 50 batches add their mean loss to the curve:
# one batch of 16 is too noisy to read.

# %% [markdown] lang="zh"
# ## 训练循环
# 与房价预测的循环完全一样：从打乱顺序的 `DataLoader` 中每次取 16 个样本，算出预测值，求它与标签的
# 平方误差并取平均，反向传播，SGD 走一步（学习率 0.001），清除梯度。和课程一样训练 10 轮，每 1000 个
# batch 打印一次损失。`flat_labels=True` 让标签的形状变成 `[B]`，与课程自己的数据读取器给出的一样
# （见下文）。每 50 个 batch，把这 50 个 batch 的平均损失加到曲线上：只有 16 个样本的单个 batch
# 噪声太大，看不出趋势。

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
# The course's homework 2-1 asks for this model's accuracy on the test set (`mode='test'`). A regression
# outputs a number, not a class. Rounding it to the nearest digit (0-9) and counting how often that is the
# label puts a number on how well the model recognises digits it has not seen.

# %% [markdown] lang="zh"
# ## 作业 2-1：测试集准确率
# 课程的作业 2-1 要求算出这个模型在测试集（`mode='test'`）上的准确率。回归模型输出的是一个数，不是
# 类别。把它四舍五入到最近的数字（0-9），统计它等于标签的比例，就能用一个数说明模型认没见过的数字
# 认得怎么样。

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
# falls fast in the first epoch (the course prints 35.5 at its first batch), then stays noisy: the course
# prints values between 1.6 and 7.8 from epoch 1 on. A weighted sum of the pixels cannot tell the digits
# apart: look at the printed test accuracy (homework 2-1), how often the rounded prediction is the digit.

# %% [markdown] lang="zh"
# ## 1. 课程的极简模型
# 只有一个 `Linear(784, 1)` 层：784 个权重加一个偏置，相当于像素空间里的一条直线。第一轮损失下降
# 很快（课程在第一个 batch 打印的是 35.5），之后来回波动：从 `epoch: 1` 开始，课程打印的损失在 1.6 到
# 7.8 之间。像素的加权和分不开各个数字：看看打印出的测试集准确率（作业 2-1），即预测值四舍五入后等于
# 标签的比例。

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
# ## Reading a photo of a 0
# The course ends this section by reading its own photo of a handwritten 0 (`example_0.jpg`) with the model
# just trained. It prints `result [[1.11405170]]`, then `本次预测的数字是 [[1]]`: the model reads the 0 as a 1.
# Here the first 0 of the test set is drawn as a photo (dark ink on light paper, by
# `digits.preprocess.digit_photo`) and read back the way the library reads any photo
# (`digits.evaluation.predict_photos`, as lab 04 does): grayscale, inverted, cropped to the ink, fitted into
# 20x20, centred, then scaled to [0, 1] as `norm_img` scales the pixels. The last line prints the model's
# raw output beside its rounded digit and the true label; the figure shows each step and the training set's
# mean image of the answer.
#
# A linear regression of the digit's value is a poor reader: one weighted sum of the pixels would have to
# come out near 0 for every 0, near 1 for every 1, and so on, and the course's own example already misses.

# %% [markdown] lang="zh"
# ## 识别一张数字 0 的照片
# 课程在这一节的最后，用刚训练好的模型识别它自己准备的一张手写数字 0 的照片（`example_0.jpg`）。
# 课程打印出 `result [[1.11405170]]`，然后是 `本次预测的数字是 [[1]]`：模型把 0 认成了 1。
# 这里把测试集里的第一个 0 画成照片（浅色纸上的深色笔迹，由 `digits.preprocess.digit_photo` 画出），
# 再按共享库识别任何照片的方式读回来（`digits.evaluation.predict_photos`，与实验 04 的做法相同）：
# 转成灰度，反色，裁到笔迹，缩放进 20x20，居中，最后像 `norm_img` 那样缩放到 [0, 1]。最后一行打印
# 模型的原始输出、四舍五入后的数字和真实标签；图中画出每一步，以及训练集中预测数字的平均图像。
#
# 用线性回归去预测数字的值，认数字的能力很差：要让同一个像素加权和对每个 0 都算出接近 0 的数，
# 对每个 1 都算出接近 1 的数，依此类推，这很难做到。课程自己的例子就已经认错了。

# %%
def training_means(dataset):
    """The training set's mean image of each digit, [10, 28, 28] in [0, 1]: the figure shows the answer's."""
    whole, rows = (dataset.dataset, dataset.indices) if isinstance(dataset, paddle.io.Subset) else \
        (dataset, range(len(dataset)))
    sums, counts = np.zeros((10, 784)), np.zeros(10)
    for row in rows:
        digit = int(whole.labels[row][0])
        sums[digit] += whole.images[row]
        counts[digit] += 1
    return (sums / np.maximum(counts, 1)[:, None] / 255).reshape(10, 28, 28).astype(np.float32)


zero = next(i for i in range(len(test_set)) if int(test_set[i][1][0]) == 0)  # the first 0 of the test set
pixels, photo_label = np.asarray(test_set[zero][0]).astype(np.uint8), int(test_set[zero][1][0])
paths = [digit_photo(pixels, f"{out}/photo.png")]
model.input_shape = (784,)  # what digits.reading reshapes a prepared digit to: flat pixels
reference = (0.0, 1.0), training_means(train_set)  # pixels in [0, 1], as norm_img gives them
predict_photos(model, "mse", paths, reference, f"{out}/photos.png")
photo = read(model, "mse", *load_photo(paths[0]), reference[0])  # the same reading, for the raw output
photo_prediction = float(photo.scores)
print(f"photo of a {photo_label}: the model outputs {photo_prediction:.3f}, rounded to {photo.predicted} "
      f"(the course's example_0, a 0: 1.114, read as 1)")

# %% [markdown] lang="en"
# ## 2. Labels `[B]` against predictions `[B, 1]`
# The course's next section, 【手写数字识别】之数据处理, trains this same model on its own loader (lab 01),
# whose labels have shape `[B]` while the model outputs `[B, 1]`. `F.square_error_cost(predicts, labels)`
# does not complain: it broadcasts `[B, 1]` against `[B]` to `[B, B]`, comparing every prediction with
# every label of the batch. Sixteen zero predictions and the labels 0..15 show the shapes.

# %% [markdown] lang="zh"
# ## 2. 标签 `[B]` 对上预测值 `[B, 1]`
# 课程的下一节【手写数字识别】之数据处理，用自己写的数据读取器（实验 01）训练同一个模型。这个读取器
# 给出的标签形状是 `[B]`，而模型输出的是 `[B, 1]`。`F.square_error_cost(predicts, labels)` 不会报错：
# 它把 `[B, 1]` 和 `[B]` 广播成 `[B, B]`，batch 里的每个预测值都和每个标签比较。下面用 16 个为零的
# 预测值和标签 0..15 来看各个形状。

# %%
predicts, labels = paddle.zeros([16, 1]), paddle.arange(16).astype("float32")
print(f"square_error_cost of predictions {list(predicts.shape)} and labels {list(labels.shape)} has shape "
      f"{list(F.square_error_cost(predicts, labels).shape)}; with labels {list(labels.reshape([-1, 1]).shape)}: "
      f"{list(F.square_error_cost(predicts, labels.reshape([-1, 1])).shape)}")

# %% [markdown] lang="en"
# ## The same model, trained with each label shape
# With the `[B, B]` loss each prediction is pulled towards every label of its batch, so the best it can
# do is the batch's mean label, whatever the image: the loss settles at the labels' variance (printed
# below) instead of falling, and the accuracy at chance. The course's run shows the plateau: its loss stays
# at 7-10 with its own loader, and ends at 8.41-8.51 after 3 epochs with a `DataLoader`. With `[B, 1]` the
# same model, seed and data learn as in part 1. Three epochs each. `labels.reshape([-1, 1])` is the fix,
# and every later lab's loader returns labels of that shape.

# %% [markdown] lang="zh"
# ## 同一个模型，分别用两种标签形状训练
# 损失是 `[B, B]` 时，每个预测值都被拉向所在 batch 的每一个标签，所以不管输入什么图片，模型最多只能
# 输出这个 batch 的平均标签：损失停在标签的方差上（下面会打印出来），降不下去，准确率和瞎猜差不多。
# 课程的运行结果就是这样：用它自己的读取器，损失一直在 7-10 之间；用 `DataLoader` 训练 3 轮，最后是
# 8.41-8.51。标签是 `[B, 1]` 时，同一个模型、同一个随机种子、同样的数据，能像第 1 部分那样正常学习。
# 两种形状各训练 3 轮。修正的办法是 `labels.reshape([-1, 1])`，后面所有实验的数据读取器返回的都是
# 这种形状。

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
       label_variance=np.var(all_labels), photo_prediction=photo_prediction,
       photo_label=photo_label)  # for the lab report

# %% [markdown] lang="en"
# ## How this lab differs from the course
# - paddle.vision reads the IDX files from `source` (offline; the course downloads them), with the `'pil'`
#   image backend instead of the course's `'cv2'` (opencv is not a dependency).
# - The photo: the course reads its own `example_0.jpg`, resized to 28x28 and scaled as `1 - im/255`. The
#   lab draws the first 0 of the test set as a photo and reads it the MNIST way (`digits.preprocess`:
#   cropped to the ink, fitted into 20x20, centred by mass). To read photos of your own, use lab 04's
#   `image` or `eval.py --image`.
# - The `[B]` and `[B, 1]` runs use this lab's loop (paddle.vision's data, batch 16) for 3 epochs. The course
#   trains with its own loader (batch 100) for 10 epochs, then with a `DataLoader` for 3.

# %% [markdown] lang="zh"
# ## 与课程的不同
# - paddle.vision 从 `source` 读取 IDX 文件（离线读取；课程是下载的），图片后端用 `'pil'`，不用课程的
#   `'cv2'`（本项目不依赖 opencv）。
# - 照片：课程读的是它自己的 `example_0.jpg`，缩放到 28x28，再按 `1 - im/255` 归一化。本实验把测试集
#   里的第一个 0 画成照片，再按制作 MNIST 的方式读回来（`digits.preprocess`：裁到笔迹，缩放进 20x20，
#   按质心居中）。想识别你自己的照片，用实验 04 的 `image` 参数或 `eval.py --image`。
# - 标签 `[B]` 与 `[B, 1]` 的对比训练用的是本实验的循环（paddle.vision 的数据，batch 16），训练 3 轮。
#   课程先用自己的数据读取器（batch 100）训练 10 轮，再用 `DataLoader` 训练 3 轮。
