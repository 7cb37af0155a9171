# %% [markdown] lang="en"
# # Lab 07 · 训练调试与优化: looking inside training, and regularisation
#
# - **Course:** 【手写数字识别】之训练调试与优化 (the course's Lab 8).
# - **You build:** the course's `check_shape` / `check_content` prints as forward hooks, a valid pass after
#   every epoch (homework 4), L2 regularisation and dropout (homework 5), and the course's VisualDL loop.
# - **You will see:** each layer's settings and output shape, then a kernel's and a channel's numbers; the
#   train and valid loss of five settings, drawn live; a table of their train and valid accuracy and the gap.
#
# As a script: `python labs/07_debug_and_tune.py` (`--help` lists its flags).

# %% [markdown] lang="zh"
# # 实验 07 · 训练调试与优化：看清训练内部，以及正则化
#
# - **对应课程章节**：【手写数字识别】之训练调试与优化（课程第 8 节）。
# - **本实验要做的**：用前向钩子实现课程 `check_shape` / `check_content` 的打印；每一轮之后在验证集上测一次（作业 4）；
#   L2 正则化和 Dropout（作业 5）；以及课程用 VisualDL 记录训练过程的循环。
# - **你会看到**：每一层的设置和输出形状，接着是一个卷积核和一个通道的数值；五组设置的训练损失和验证损失，实时绘制；
#   一张表，列出它们的训练准确率、验证准确率以及二者之差。
#
# 作为脚本运行：`python labs/07_debug_and_tune.py`（`--help` 列出所有参数）。

# %%
import importlib.util
import re

import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
import paddle.nn.functional as F
from digits.data import batches_per_epoch, load_course_data, load_data
from digits.lab import lab_setup, record
from digits.onednn import accelerate, course_layer_name
from digits.plots import LiveCurves
from digits.training import evaluate, seed_everything, train_step
from models.cnn import CNN

# %% tags=["parameters"]
epochs = 5  # passes over the training set for each setting (the course's 5)
seed = 0  # every setting starts from the same weights and sees the same shuffle
onednn = True  # run the conv layers on oneDNN's kernels; False: Paddle's own, as the course ran them
quick = False  # one epoch only: a smoke test, as CI runs the labs

# %%
out = lab_setup("lab07", globals())  # a script's flags replace the values above; out = runs/lab07/<time>

# %% [markdown] lang="en"
# ## The data
# The course's loaders (lab 01), shaped for the CNN: images `[B, 1, 28, 28]`, labels int64 for
# cross-entropy. The course looks inside the network at batch 401; a smaller data file has fewer batches,
# so the check moves to an epoch's last batch then.

# %% [markdown] lang="zh"
# ## 数据
# 使用课程的数据加载器（实验 01），形状按 CNN 的需要整理：图片 `[B, 1, 28, 28]`，标签为 int64，供交叉熵使用。
# 课程在第 401 个 batch 查看网络内部；数据文件较小时 batch 数更少，这时检查就改在一轮的最后一个 batch。

# %%
train_loader = load_data("train", 100, image_shape=CNN.input_shape, label_dtype="int64")
valid_loader = load_data("valid", 500, image_shape=CNN.input_shape, label_dtype="int64")
batches = batches_per_epoch(len(load_course_data()["train"][0]), 100)
content_batch = min(401, batches - 1)  # the course's batch for check_content
print(f"{batches} training batches per epoch; check_content at batch {content_batch}")

# %% [markdown] lang="en"
# ## check_shape and check_content, as forward hooks
# The course adds two flags to `forward()`. With `check_shape` it prints, at batch 0, each layer's
# settings and output shape; with `check_content`, at batch 401, a conv kernel's values, a random channel
# of each conv output and the last layer's output. Here the same prints come from forward hooks, so the
# model's code stays the course's.
#
# A forward hook is a function Paddle calls every time a layer runs: a pre-hook before (it sees the
# inputs), a post-hook after (it also sees the output). Registered from outside, hooks print what the
# course's two flags print without editing `forward()`, and `handle.remove()` takes them away again.
# One pre-hook on the whole model counts training batches; a post-hook on every layer prints its
# settings and output shape at batch 0 (check_shape: do the shapes flow as designed?) and, at the
# content batch, the numbers themselves (check_content: are the values sensible, not all 0 or huge?).
# A conv layer's padding and stride come from `extra_repr()`, the one-line summary Paddle prints for a
# layer (it leaves out a setting at its default: stride 1, padding 0).
# `digits.debug.Inspector`, behind `train.py --debug-batch N`, is these hooks in the library.

# %% [markdown] lang="zh"
# ## 用前向钩子实现 check_shape 和 check_content
# 课程给 `forward()` 加了两个开关参数。打开 `check_shape`，它在第 0 个 batch 打印每一层的设置和输出形状；打开
# `check_content`，它在第 401 个 batch 打印一个卷积核的数值、每个卷积输出中随机一个通道的值，以及最后一层的输出。
# 这里同样的打印来自前向钩子，模型代码保持课程原样。
#
# 前向钩子是一个函数，某一层每运行一次，Paddle 就调用它一次：pre-hook 在层运行之前调用（能看到输入），
# post-hook 在之后调用（还能看到输出）。钩子从外部注册，不用修改 `forward()` 就能打印课程那两个开关打印的内容，
# 用 `handle.remove()` 又能把它们去掉。
# 在整个模型上注册一个 pre-hook，用来数训练的 batch；在每一层上注册一个 post-hook：第 0 个 batch 时打印该层的
# 设置和输出形状（check_shape：形状是否按设计传下去？），到了检查内容的那个 batch，打印数值本身
# （check_content：数值是否合理，既不全是 0，也没有大得离谱？）。
# 卷积层的 padding 和 stride 从 `extra_repr()` 读出：这是 Paddle 为每一层打印的一行摘要（取默认值的设置不写出来：
# stride 1，padding 0）。
# `train.py --debug-batch N` 背后的 `digits.debug.Inspector`，就是共享库里的这些钩子。

# %%
def conv_settings(layer):
    """A conv layer's padding and stride, as its public summary `extra_repr()` shows them, e.g. '1, 20,
    kernel_size=[5, 5], padding=2, data_format=NCHW'; a setting at its default is left out of it."""
    shown = dict(re.findall(r"(\w+)=(\[[^\]]*\]|[^,]+)", layer.extra_repr()))
    return shown.get("padding", "0"), shown.get("stride", str([1] * (len(layer.weight.shape) - 2)))


def watch(model, content_batch, rng):
    """The course's check_shape (first training batch) and check_content (batch `content_batch`) as
    forward hooks: the model's code is not touched. Returns the hooks' handles, to remove them."""
    batch = [-1]

    def count(model, inputs):  # a pre-hook on the whole model: one call per training batch
        if model.training:
            batch[0] += 1
            if batch[0] == 0:
                print(f"[check_shape] input {list(inputs[0].shape)}; each layer's settings and output shape:")
            elif batch[0] == content_batch:
                print(f"[check_content] batch {batch[0]}:")

    def report(name):
        def hook(layer, inputs, output):
            if not layer.training:  # evaluation passes are not training batches
                return
            kind = course_layer_name(layer)  # Conv2D also for a conv running on oneDNN
            if batch[0] == 0:
                settings = ""
                if kind == "Conv2D":
                    padding, stride = conv_settings(layer)
                    settings = f"kernel {list(layer.weight.shape)}, padding {padding}, stride {stride}"
                elif kind == "Linear":
                    settings = f"weight {list(layer.weight.shape)}, bias {list(layer.bias.shape)}"
                print(f"  {name:6s} {kind:10s} {settings:42s} -> output {list(output.shape)}")
            elif batch[0] == content_batch and kind == "Conv2D":
                print(f"  {name} kernel weights [0][0]:\n{np.array2string(layer.weight[0][0].numpy(), precision=3)}")
                channel = int(rng.integers(output.shape[1]))
                values = output[0][channel].numpy()
                middle = len(values) // 2
                print(f"  {name} output, channel {channel} of image 0 ({values.shape[0]}x{values.shape[1]}): min "
                      f"{values.min():.3f}, mean {values.mean():.3f}, max {values.max():.3f}; rows {middle - 1}-{middle}, "
                      f"middle 8 columns:\n{np.array2string(values[middle - 1:middle + 1, middle - 4:middle + 4], precision=3)}")
            elif batch[0] == content_batch and kind == "Linear":
                print(f"  {name} output of image 0: {np.array2string(output[0].numpy(), precision=3)}")
        return hook

    return [model.register_forward_pre_hook(count)] + [layer.register_forward_post_hook(report(name))
                                                        for name, layer in model.named_sublayers()]


# %% [markdown] lang="en"
# ## Two regularisers
# L2 needs no change to the network: `weight_decay=paddle.regularizer.L2Decay(coeff)` in the optimizer
# adds `coeff * w` to every weight's gradient, pulling the weights towards 0 (a penalty `coeff/2 * |w|^2`
# on the loss). Dropout is a layer: in training it zeroes each of the 980 features entering the Linear
# head with probability p and scales the rest by 1/(1-p); `model.eval()` turns it off. Both make the
# network fit the training images less closely, to do better on images it has not seen.
#
# Five settings: none; L2 at 1e-5 (the course's coefficient), 1e-3 and 1e-2; dropout 0.5 before the CNN's
# Linear head (`DropoutCNN` below).

# %% [markdown] lang="zh"
# ## 两种正则化方法
# L2 不需要修改网络：在优化器中加上 `weight_decay=paddle.regularizer.L2Decay(coeff)`，它会给每个权重的梯度
# 加上 `coeff * w`，把权重往 0 拉（相当于在损失上加一项惩罚 `coeff/2 * |w|^2`）。Dropout 是一个层：训练时，
# 它把进入 Linear 输出层的 980 个特征逐个以概率 p 置为 0，其余的乘以 1/(1-p)；`model.eval()` 会把它关掉。
# 两者都让网络不那么紧地拟合训练图片，好在没见过的图片上表现得更好。
#
# 一共五组设置：不加正则化；L2，系数取 1e-5（课程的值）、1e-3 和 1e-2；在 CNN 的 Linear 输出层之前加概率 0.5 的
# Dropout（见下面的 `DropoutCNN`）。

# %%
class DropoutCNN(CNN):
    """The course CNN with dropout on the 980 features that enter its Linear head."""

    def __init__(self, num_outputs=10, p=0.5):
        super().__init__(num_outputs)
        self.dropout = paddle.nn.Dropout(p)  # in training: zero each feature with probability p, scale the rest by 1/(1-p)

    def forward(self, inputs):
        x = self.pool1(F.relu(self.conv1(inputs)))
        x = self.pool2(F.relu(self.conv2(x)))
        x = paddle.reshape(x, [x.shape[0], 980])
        return self.fc(self.dropout(x))


# (name, network, L2 coefficient); 1e-5 is the course's coefficient
SETTINGS = (("none", CNN, 0.0), ("L2 1e-5", CNN, 1e-5), ("L2 1e-3", CNN, 1e-3), ("L2 1e-2", CNN, 1e-2),
            ("dropout 0.5", DropoutCNN, 0.0))

# %% [markdown] lang="en"
# ## Train, and validate after every epoch
# The course's loop (lab 02's five lines, `train_step`), with a pass over the valid split after each
# epoch: the numbers behind homework 4's train and valid curves. The train loss goes on the live figure
# as the mean of every 50 batches, the valid loss at each epoch's end. It re-derives
# `digits.training.train` on purpose: `fit()` builds its optimizer from a config, and this lab's lesson
# is the optimizer's `weight_decay` line.
#
# The figure has two panels, train loss on the left and valid loss on the right, with one legend beside
# them: each setting keeps its colour in both (the library's `LiveCurves` with `panels`).

# %% [markdown] lang="zh"
# ## 训练，并在每一轮之后验证
# 课程的训练循环（实验 02 的那五行，即 `train_step`），每一轮之后在验证集上跑一遍：这就是作业 4 中训练曲线和
# 验证曲线背后的数据。训练损失取每 50 个 batch 的平均值画到实时图上，验证损失在每一轮结束时画上去。这里有意
# 重新写出 `digits.training.train`：`fit()` 根据配置构建优化器，而本实验要讲的正是优化器里 `weight_decay`
# 那一行。
#
# 图分左右两栏：左边是训练损失，右边是验证损失，图例放在旁边；每组设置在两栏中颜色相同（共享库的
# `LiveCurves` 加上 `panels` 参数）。

# %%
WINDOW = min(50, max(1, batches // 5))  # batches per train point on the curve: 50, or 5 points per epoch
TRAIN, VALID = f"train (mean of {WINDOW} batches)", "valid (after each epoch)"  # the figure's two panels


def train_and_validate(model, optimizer, epochs, live, label, color):
    """Train, drawing this setting's train loss (left panel) and valid loss (right panel) in one colour."""
    step = 0
    for epoch in range(epochs):
        losses = []
        for images, labels in train_loader():
            _, loss = train_step(model, optimizer, paddle.to_tensor(images), paddle.to_tensor(labels), F.cross_entropy)
            losses.append(float(loss))
            step += 1
            live.add_batch((TRAIN, label), step, losses[-1], color=color)  # a point per WINDOW batches: their mean
        live.flush((TRAIN, label), color=color)  # the epoch's last batches (all of them, in a short epoch)
        valid = evaluate(model, valid_loader, "ce")
        live.add((VALID, label), step, valid["loss"], color=color, marker="o")
        print(f"  epoch {epoch}: train loss {np.mean(losses):.4f}; valid loss {valid['loss']:.4f}, "
              f"accuracy {100 * valid['accuracy']:.2f}%")


# %% [markdown] lang="en"
# ## Run every setting
# Each setting starts from the same seed. The hooks watch the first one: read the shapes at batch 0,
# then the values at the content batch. On the figure (`train_vs_valid_loss.png`), follow one colour
# from the left panel to the right: a setting that overfits has its valid loss above its train loss; L2
# and dropout push the two together (dropout's train loss, measured with dropout on, can even lie above
# its valid loss).

# %% [markdown] lang="zh"
# ## 逐个运行每组设置
# 每组设置都从同一个随机种子开始。钩子观察第一组：先看第 0 个 batch 的形状，再看检查内容那个 batch 的数值。
# 在图（`train_vs_valid_loss.png`）中，顺着同一种颜色从左栏看到右栏：过拟合的设置，验证损失会高于训练损失；
# L2 和 Dropout 会把两者拉近（Dropout 的训练损失是在 Dropout 打开时测的，甚至可能高于它的验证损失）。

# %%
live = LiveCurves("train vs valid loss per setting", panels=(TRAIN, VALID), ylabel="cross-entropy loss", logy=True,
                  window=WINDOW)
rows = []
for index, (name, network, coeff) in enumerate(SETTINGS):
    print(f"--- {name} ---")
    seed_everything(seed)
    model = accelerate(network(10))
    # L2 regularisation, the course's way: the optimizer adds coeff * weight to every gradient
    optimizer = paddle.optimizer.Adam(learning_rate=0.001, parameters=model.parameters(),
                                      weight_decay=paddle.regularizer.L2Decay(coeff=coeff) if coeff else None)
    hooks = watch(model, content_batch, np.random.default_rng(seed)) if index == 0 else []
    train_and_validate(model, optimizer, epochs, live, "no regulariser" if name == "none" else name, f"C{index}")
    for handle in hooks:
        handle.remove()

    train = evaluate(model, load_data("train", 500, image_shape=CNN.input_shape, label_dtype="int64"), "ce")
    valid = evaluate(model, valid_loader, "ce")
    rows.append((name, train["loss"], valid["loss"], train["accuracy"], valid["accuracy"]))
print(f"figure: {live.save(f'{out}/train_vs_valid_loss.png')}")

# %% [markdown] lang="en"
# ## The gap
# Train accuracy minus valid accuracy, both measured the same way (final weights, eval mode): how much
# better the network does on the images it learned from. Regularisation trades some train accuracy
# for a smaller gap; whether valid accuracy rises too is the question homework 5 asks.

# %% [markdown] lang="zh"
# ## 差距
# 训练准确率减去验证准确率，两者用同样的方法测量（最终的权重，eval 模式）：网络在学过的图片上比在没学过的图片上
# 好多少。正则化牺牲一些训练准确率，换来更小的差距；验证准确率是否也随之提高，正是作业 5 要回答的问题。

# %%
print(f"{'setting':12s} {'train loss':>10s} {'valid loss':>10s} {'train acc':>10s} {'valid acc':>10s} {'gap':>7s}")
for name, train_loss, valid_loss, train_acc, valid_acc in rows:
    print(f"{name:12s} {train_loss:10.4f} {valid_loss:10.4f} {100 * train_acc:9.2f}% {100 * valid_acc:9.2f}% "
          f"{100 * (train_acc - valid_acc):6.2f}%")
valid_accuracy = {name: valid_acc for name, _, _, _, valid_acc in rows}
gap = {name: train_acc - valid_acc for name, _, _, train_acc, valid_acc in rows}
record(out, valid_none=valid_accuracy["none"], valid_l2_1e5=valid_accuracy["L2 1e-5"],
       valid_l2_1e3=valid_accuracy["L2 1e-3"], valid_l2_1e2=valid_accuracy["L2 1e-2"],
       valid_dropout=valid_accuracy["dropout 0.5"], gap_none=gap["none"], gap_l2_1e5=gap["L2 1e-5"],
       gap_l2_1e3=gap["L2 1e-3"], gap_l2_1e2=gap["L2 1e-2"], gap_dropout=gap["dropout 0.5"])  # for the lab report

# %% [markdown] lang="en"
# ## VisualDL: the course's LogWriter
# The course watches its curves in VisualDL, Paddle's training dashboard. A `LogWriter` writes scalars to
# a folder while the loop runs; `visualdl --logdir FOLDER` serves them as curves in the browser. Below is
# the course's loop over the first 50 batches of a fresh CNN: every 10 batches `add_scalar` logs the
# batch's accuracy and loss under the tags `acc` and `loss`. VisualDL is an optional extra: without it the
# cell prints how to get it and moves on.

# %% [markdown] lang="zh"
# ## VisualDL：课程的 LogWriter
# 课程用 VisualDL（Paddle 的训练可视化工具）观察曲线。训练循环运行时，`LogWriter` 把标量写进一个文件夹；
# `visualdl --logdir FOLDER` 再把它们画成曲线，在浏览器里查看。下面是课程的循环，在一个新建的 CNN 上跑前 50 个
# batch：每 10 个 batch，用 `add_scalar` 以 `acc` 和 `loss` 为标签记录这个 batch 的准确率和损失。VisualDL 是
# 可选安装的包：没有安装时，这一格只打印安装方法，然后跳过。

# %%
def log_for_visualdl(logdir, batches=50, every=10):
    """The course's VisualDL loop: a fresh CNN's accuracy and loss every `every` batches, for `batches`."""
    from visualdl import LogWriter
    log_writer = LogWriter(logdir=logdir)
    seed_everything(seed)
    model = accelerate(CNN(10))
    opt = paddle.optimizer.Adam(learning_rate=0.001, parameters=model.parameters())
    iter = 0
    for batch_id, (images, labels) in enumerate(train_loader()):
        images, labels = paddle.to_tensor(images), paddle.to_tensor(labels)
        predicts, avg_loss = train_step(model, opt, images, labels, F.cross_entropy)
        avg_acc = paddle.metric.accuracy(input=predicts, label=labels)
        if batch_id % every == 0:
            log_writer.add_scalar(tag="acc", step=iter, value=avg_acc.numpy())
            log_writer.add_scalar(tag="loss", step=iter, value=avg_loss.numpy())
            iter = iter + every
        if batch_id + 1 == batches:
            break
    log_writer.close()


if importlib.util.find_spec("visualdl"):
    log_for_visualdl(f"{out}/log")
    print(f"VisualDL: acc and loss logged in {out}/log; to see them: visualdl --logdir {out}/log --port 8080")
else:
    print("VisualDL is not installed (optional: pip install visualdl); `python train.py --visualdl` logs the same "
          "scalars for a whole run")

# %% [markdown] lang="en"
# ## How this lab differs from the course
# - The hooks watch the first regularisation run (Adam 0.001) instead of a separate 1-epoch SGD 0.01
#   debug run: the same prints without training an extra epoch. The check runs at batch 401 as in the
#   course (or the last batch of an epoch, when the data is smaller).
# - `check_content` prints a random channel's size, range and centre rows, not all 28x28 numbers, and
#   draws its channel from its own generator: the course's `np.random.randint` would shift the global
#   NumPy state that the loader's shuffle uses, so the watched run would train differently.
# - `check_shape` reads a conv's padding and stride from its public `extra_repr()`; the course reads the
#   private attributes `_padding` and `_stride`, which a Paddle release may rename.
# - The layers' names: the conv layers run on oneDNN's kernels (`digits.onednn.accelerate`;
#   `onednn = False` turns that off); `course_layer_name` prints the course's name for them, `Conv2D`.
# - Adam at 0.001, not the course's 0.01 for the L2 run: in lab 05 Adam 0.01 ends below Adam 0.001 (the
#   lab report, report/README.md, has the numbers), a noisier baseline for the regularisers' small
#   effects. 5 epochs, batch 100, as in the course.
# - Dropout is not in this chapter (the course brings it in the CV chapter); it is here as the second
#   regulariser the homework's question calls for.
# - Train accuracy in the table is measured like valid's: final weights, eval mode (dropout off), all
#   50,000 images, so the gap compares like with like. The course logs accuracy per training batch instead.
# - The figure's train points are the mean loss of each 50 batches (in train mode: dropout on), its valid
#   points the valid loss after each epoch, as `digits.training` draws them (a small data file: 5 train
#   points per epoch).
# - VisualDL: the course logs every 100 batches of its whole run into `./log`; here the same loop logs 50
#   batches into the run folder's `log/`, and only when `visualdl` is installed. `python train.py
#   --visualdl` logs loss and accuracy for a whole run.

# %% [markdown] lang="zh"
# ## 与课程的不同
# - 钩子观察的是第一组正则化训练（Adam 0.001），而不是另外跑一轮 SGD 0.01 的调试训练：打印的内容一样，
#   但不用多训练一轮。和课程一样在第 401 个 batch 检查（数据较小时，改在一轮的最后一个 batch）。
# - `check_content` 只打印随机一个通道的尺寸、取值范围和中间几行，而不是全部 28x28 个数；选通道用的是它自己的
#   随机数生成器。课程的 `np.random.randint` 会改变 NumPy 的全局随机状态，而数据加载器打乱数据要用这个状态，
#   这样被观察的那次训练就会和不观察时训练得不一样。
# - `check_shape` 从公开的 `extra_repr()` 读出卷积层的 padding 和 stride；课程读的是私有属性 `_padding` 和
#   `_stride`，Paddle 的新版本可能改掉它们的名字。
# - 层的名字：卷积层运行在 oneDNN 的 kernel 上（`digits.onednn.accelerate`；设 `onednn = False` 可以关掉）；
#   `course_layer_name` 打印它们在课程中的名字 `Conv2D`。
# - 用 Adam 0.001，而不是课程 L2 实验中的 0.01：在实验 05 中，Adam 0.01 的最终结果不如 Adam 0.001（具体数字见
#   实验报告 report/README.md），作为基线噪声更大，正则化的效果本来就小，会被它淹没。和课程一样训练 5 轮，batch 100。
# - Dropout 不在本章中（课程在计算机视觉一章才介绍它）；这里用它作为作业题所要求的第二种正则化方法。
# - 表中的训练准确率和验证准确率用同样的方法测量：最终的权重，eval 模式（关闭 Dropout），训练集全部 50,000 张
#   图片。这样二者之差是在同等条件下比较。课程记录的则是每个训练 batch 的准确率。
# - 图中训练损失的每个点是每 50 个 batch 的平均损失（在 train 模式下，Dropout 打开），验证损失的每个点是
#   每一轮结束后的验证损失，画法与 `digits.training` 相同（数据文件较小时：每轮 5 个训练点）。
# - VisualDL：课程在整个训练过程中每 100 个 batch 记录一次，写到 `./log`；这里同样的循环只记录 50 个 batch，
#   写到运行文件夹的 `log/` 下，而且只在装了 `visualdl` 时才运行。`python train.py --visualdl` 会为一次完整的
#   训练记录损失和准确率。
