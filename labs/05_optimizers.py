# %% [markdown] lang="en"
# # Lab 05 · 优化算法: optimizers and the learning rate
#
# - **Course:** 【手写数字识别】之优化算法.
# - **You build:** lab 04's classifier trained with each optimizer the course writes: SGD at three learning
#   rates, then SGD, Momentum, Adagrad and Adam, every run from the same seed.
# - **You will see:** each comparison's loss curves and every run's final train loss and valid accuracy, to
#   answer the course's homework (作业2-3): which learning rate, and which optimizer, works best?
#
# As a script: `python labs/05_optimizers.py` (`--help` lists its flags).

# %% [markdown] lang="zh"
# # 实验 05 · 优化算法：优化器与学习率
#
# - **对应课程章节**：【手写数字识别】之优化算法。
# - **本实验要做的**：用课程写出的每一种优化器训练实验 04 的分类器：先是三种学习率下的 SGD，再是 SGD、
#   Momentum、Adagrad 和 Adam，每次都从同一个随机种子开始。
# - **你会看到**：每组对比的损失曲线，以及每次训练最终的训练损失和验证集准确率，用来回答课程的作业
#   （作业 2-3）：哪个学习率、哪种优化器效果最好？
#
# 作为脚本运行：`python labs/05_optimizers.py`（`--help` 列出所有参数）。

# %%
import time

import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
import paddle.nn.functional as F
from digits.data import IMAGE, load_data
from digits.lab import lab_setup, record
from digits.onednn import accelerate
from digits.plots import LiveCurves
from digits.training import evaluate, seed_everything, train_step
from models.cnn import CNN

# %% tags=["parameters"]
epochs = 3  # epochs of each optimizer run (the course's 3)
seed = 0  # fixes Python, NumPy (the loader's shuffle) and Paddle (the initial weights); the same for every run
onednn = True  # the conv layers on oneDNN's kernels (False: Paddle's own, as the course ran them)
quick = False  # one epoch only, for both comparisons: a smoke test, as CI runs the labs
lr_epochs = 10  # epochs of each learning-rate run, as in the course

# %%
out = lab_setup("lab05", globals())  # a script's flags replace the values above; out = runs/lab05/<time>
if quick:
    lr_epochs = 1  # lab_setup shortened `epochs`; the learning-rate runs too

# %% [markdown] lang="en"
# ## 1. The learning rate
# The model is lab 04's classifier (the CNN with 10 outputs, cross-entropy, batch 100); what changes from run
# to run is the line that builds the optimizer.
#
# The course builds SGD at 0.001 and leaves 0.0001 and 0.01 commented out. Each step moves the weights by
# the learning rate times the gradient: too small and training crawls, too large and it overshoots. Each
# setting is a function that builds the optimizer for a new model's parameters:

# %% [markdown] lang="zh"
# ## 1. 学习率
# 模型是实验 04 的分类器（10 个输出的 CNN，交叉熵，batch 100）；每次训练之间变化的只是创建优化器的
# 那一行。
#
# 课程创建学习率为 0.001 的 SGD，并把 0.0001 和 0.01 注释掉。每一步，权重移动的量是学习率乘以梯度：
# 太小，训练慢得像爬；太大，就会冲过头。每种设置是一个函数，为新模型的参数创建优化器：

# %%
LEARNING_RATES = {
    ("SGD", 0.0001): lambda model: paddle.optimizer.SGD(learning_rate=0.0001, parameters=model.parameters()),
    ("SGD", 0.001): lambda model: paddle.optimizer.SGD(learning_rate=0.001, parameters=model.parameters()),
    ("SGD", 0.01): lambda model: paddle.optimizer.SGD(learning_rate=0.01, parameters=model.parameters()),
}

# %% [markdown] lang="en"
# ## 2. The optimizers
# The same step, w <- w - lr * (a direction), with four ideas of the direction: SGD takes the gradient as it
# is; Momentum keeps a running sum of past gradients (a heavy ball rolls through small bumps); Adagrad divides
# each weight's step by the root of its summed squared gradients (big steps for rarely-moved weights); Adam
# combines a momentum with a running scale of each weight's gradient. Built as the course builds them:

# %% [markdown] lang="zh"
# ## 2. 优化器
# 每一步都是 w <- w - lr * (一个方向)，四种优化器对这个方向有四种取法：SGD 直接用梯度；Momentum
# 把过去的梯度累加起来（像一个重球，能滚过小的起伏）；Adagrad 把每个权重的步长除以它历次梯度平方和的
# 平方根（很少更新的权重，步子就大）；Adam 把动量和对每个权重梯度大小的滑动估计结合起来。下面按课程
# 的写法创建它们：

# %%
OPTIMIZERS = {
    ("SGD", 0.01): lambda model: paddle.optimizer.SGD(learning_rate=0.01, parameters=model.parameters()),
    ("Momentum", 0.01): lambda model: paddle.optimizer.Momentum(learning_rate=0.01, momentum=0.9,
                                                                parameters=model.parameters()),
    ("Adagrad", 0.01): lambda model: paddle.optimizer.Adagrad(learning_rate=0.01, parameters=model.parameters()),
    ("Adam", 0.01): lambda model: paddle.optimizer.Adam(learning_rate=0.01, parameters=model.parameters()),
    ("Adam", 0.001): lambda model: paddle.optimizer.Adam(learning_rate=0.001, parameters=model.parameters()),
}

# %% [markdown] lang="en"
# ## The loop, and one comparison
# Lab 02's loop with the optimizer passed in: every batch is `train_step` (forward, loss, backward,
# `optimizer.step()`, `optimizer.clear_grad()`). `compare()` trains a fresh CNN for each setting from the same
# seed, so the initial weights and the batch order are the same and only the optimizer differs; it prints a
# table row per run and draws all of a comparison's curves in one figure, live, each point the mean loss of
# 100 batches (a single batch's loss is too noisy to compare).

# %% [markdown] lang="zh"
# ## 训练循环与一组对比
# 实验 02 的训练循环，只是优化器由外部传入：每个 batch 执行一次 `train_step`（前向计算、计算损失、
# 反向传播、`optimizer.step()`、`optimizer.clear_grad()`）。`compare()` 对每种设置都从同一个随机种子
# 训练一个新的 CNN，所以初始权重和 batch 顺序都相同，唯一的不同是优化器；每次训练打印表格中的一行，
# 一组对比的所有曲线实时画在同一张图里，每个点是 100 个 batch 的平均损失（单个 batch 的损失噪声
# 太大，没法比较）。

# %%
WINDOW = 100  # batches per point of the loss curves
valid_accuracy = {}  # (the comparison's figure, optimizer, lr): the run's valid accuracy


def train(model, optimizer, epochs, live, label):
    """Lab 02's loop with the optimizer given: per batch, digits.training.train_step (forward, loss,
    backward, optimizer.step(), optimizer.clear_grad()). Returns every batch's loss; `live` draws the
    mean of every WINDOW batches under `label` as they come.
    (It re-derives the core of the shared loop, digits.training.train, without its run folder: that loop
    gets its optimizer through fit() from a name, and here the optimizer is the lesson.)"""
    train_loader = load_data("train", 100, image_shape=IMAGE, label_dtype="int64")
    losses = []
    for epoch in range(epochs):
        for images, labels in train_loader():
            _, loss = train_step(model, optimizer, paddle.to_tensor(images), paddle.to_tensor(labels), F.cross_entropy)
            losses.append(float(loss))
            live.add_batch(label, len(losses), losses[-1])  # a point per WINDOW batches: their mean
    live.flush(label)  # the last, shorter window
    return losses


def compare(title, settings, epochs, figure):
    """Train the CNN once per setting {(name, lr): make_optimizer}; print a row per run, draw the curves."""
    print(f"\n{title}, {epochs} epoch{'s' * (epochs > 1)} each:")
    print(f"{'optimizer':10s} {'lr':>7s} {'epochs':>6s} {'train loss':>11s} {'valid loss':>11s} {'valid acc':>10s} "
          f"{'s/epoch':>8s}")
    live = LiveCurves(f"train loss: {title} (mean of {WINDOW} batches)", logy=True, window=WINDOW)
    for (name, lr), make_optimizer in settings.items():
        seed_everything(seed)
        model = accelerate(CNN(num_outputs=10))  # oneDNN's conv kernels, as fit() uses (onednn = False: Paddle's)
        optimizer = make_optimizer(model)
        run_started = time.perf_counter()
        losses = train(model, optimizer, epochs, live, f"{name} lr={lr:g}")
        seconds = (time.perf_counter() - run_started) / epochs
        valid = evaluate(model, load_data("valid", 100, image_shape=IMAGE, label_dtype="int64"), "ce")
        last_epoch = losses[-(len(losses) // epochs):]
        print(f"{name:10s} {lr:7g} {epochs:6d} {np.mean(last_epoch):11.4f} {valid['loss']:11.4f} "
              f"{100 * valid['accuracy']:9.2f}% {seconds:8.1f}")
        valid_accuracy[figure, name, lr] = valid["accuracy"]
    return live.save(f"{out}/{figure}.png")


# %% [markdown] lang="en"
# ## Run 1: SGD at three learning rates
# Each rate trains for `lr_epochs` epochs (the course's 10). Homework 2-3 asks which learning rate is best,
# judged by the loss trend: look at how fast each curve falls, and where it is after the same number of
# epochs.

# %% [markdown] lang="zh"
# ## 运行 1：三种学习率下的 SGD
# 每种学习率训练 `lr_epochs` 轮（课程是 10 轮）。作业 2-3 问哪个学习率最好，根据损失的变化趋势判断：
# 看每条曲线下降得多快，以及训练相同轮数后停在哪里。

# %%
started = time.perf_counter()
figure = compare("SGD at three learning rates", LEARNING_RATES, lr_epochs, "learning_rates")

# %% [markdown] lang="en"
# ## Run 2: the optimizers at lr 0.01
# Same question for the optimizers, each trained for `epochs` epochs (the course's 3) at the course's
# lr 0.01. A rate suits one optimizer and not another: Adam's adaptive steps make 0.01 aggressive, hence the
# extra run at 0.001.

# %% [markdown] lang="zh"
# ## 运行 2：学习率 0.01 下的各个优化器
# 对优化器问同样的问题，每种优化器都在课程的学习率 0.01 下训练 `epochs` 轮（课程是 3 轮）。适合一个
# 优化器的学习率不一定适合另一个：Adam 的步长是自适应的，0.01 对它来说偏激进，所以另外在 0.001 下
# 多跑了一次。

# %%
figure = compare("four optimizers", OPTIMIZERS, epochs, "optimizers")
print(f"\n{len(LEARNING_RATES) + len(OPTIMIZERS)} trainings in {time.perf_counter() - started:.0f} s; "
      f"figures in {out}")
record(out, sgd_lr1e4=valid_accuracy["learning_rates", "SGD", 0.0001],
       sgd_lr1e3=valid_accuracy["learning_rates", "SGD", 0.001],
       sgd_lr1e2=valid_accuracy["learning_rates", "SGD", 0.01],
       sgd=valid_accuracy["optimizers", "SGD", 0.01], momentum=valid_accuracy["optimizers", "Momentum", 0.01],
       adagrad=valid_accuracy["optimizers", "Adagrad", 0.01], adam=valid_accuracy["optimizers", "Adam", 0.01],
       adam_lr1e3=valid_accuracy["optimizers", "Adam", 0.001])  # for the lab report

# %% [markdown] lang="en"
# ## How this lab differs from the course
# - The course prints no numbers here and leaves the verdict as homework (作业2-3: judge by the loss trend).
#   The lab prints a row per run and draws the curves; the lab report (report/README.md) holds the full
#   run's numbers.
# - The course runs one setting per edit of the script; here every setting runs in one go, each from the
#   same seed (same initial weights and batch order), so only the optimizer differs.
# - Adam is also run at 0.001: 0.01 is aggressive for Adam, and 0.001 is its usual rate (train.py's).
# - Every run is scored on the valid split, which the course's optimizer code does not do.
# - The loop is lab 02's steps (`digits.training.train_step`) written out here, not `fit()`: `fit()` builds
#   its optimizer from a name, and this lab is about building it.

# %% [markdown] lang="zh"
# ## 与课程的不同
# - 课程在这里没有打印任何数字，结论留作作业（作业 2-3：根据损失的变化趋势判断）。本实验每次训练打印
#   一行结果并画出曲线；完整运行的数字见实验报告（report/README.md）。
# - 课程每改一次脚本只跑一种设置；这里所有设置一次跑完，每次都从同一个随机种子开始（相同的初始权重
#   和 batch 顺序），所以唯一的不同是优化器。
# - Adam 还在 0.001 下跑了一次：0.01 对 Adam 来说偏激进，0.001 才是它常用的学习率（train.py 用的
#   也是它）。
# - 每次训练都在验证集上计分，课程的优化器代码没有这一步。
# - 训练循环是把实验 02 的步骤（`digits.training.train_step`）在这里写出来，而不是用 `fit()`：`fit()`
#   根据名字创建优化器，而本实验讲的正是怎样创建优化器。
