# %% [markdown] lang="en"
# # Lab 10 · 高层API: the same CNN with paddle.Model instead of a hand-written loop
#
# - **Course:** none of chapter 2's sections (they write every loop by hand): Paddle's high-level API, the
#   "高层API" of Paddle's own quick start, which the course's later chapters use.
# - **You build:** the course CNN wrapped as `paddle.Model`, trained by `prepare`, `fit` and callbacks, then
#   `evaluate` and `predict`; and the same training with the hand-written loop.
# - **You will see:** the two ways' eval accuracy and seconds per epoch side by side, and `predict` on ten
#   eval digits.
#
# As a script: `python labs/10_high_level_api.py` (`--help` lists its flags).

# %% [markdown] lang="zh"
# # 实验 10 · 高层API：同一个 CNN，用 paddle.Model 代替手写的训练循环
#
# - **对应课程章节**：第 2 章没有对应的小节（第 2 章的实验把每个训练循环都亲手写出来）：这是 Paddle 官方快速上手
#   教程里的“高层API”，课程后面的章节会用到。
# - **本实验要做的**：把课程的 CNN 包装成 `paddle.Model`，用 `prepare`、`fit` 和回调函数训练，再用 `evaluate` 和
#   `predict`；然后用手写的训练循环做同样的训练。
# - **你会看到**：两种方式的测试集准确率和每轮秒数并排比较，以及 `predict` 对 10 个测试集数字的预测。
#
# 作为脚本运行：`python labs/10_high_level_api.py`（`--help` 列出所有参数）。

# %%
import time

import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
from digits.data import IMAGE, batches_per_epoch
from digits.dataset import MnistDataset
from digits.errors import UserError
from digits.lab import lab_setup, record
from digits.onednn import accelerate
from digits.training import TrainConfig, fit, seed_everything
from models.cnn import CNN

# %% tags=["parameters"]
epochs = 3  # passes over the training set, for both ways of training
seed = 0  # fixes the initial weights (and the hand-written loop's shuffle)
onednn = True  # run the conv layers on oneDNN's kernels; False: Paddle's own, as the course ran them
visualdl = False  # add the VisualDL callback (pip install visualdl)
quick = False  # one epoch only: a smoke test, as CI runs the labs

# %%
out = lab_setup("lab10", globals())  # a script's flags replace the values above; out = runs/lab10/<time>

# %% [markdown] lang="en"
# ## The data as a Dataset
# The lab trains the same CNN two ways with the same settings: Paddle's high-level API, and the library's
# hand-written loop (`digits.training.fit`, the one the earlier labs wrote out). `paddle.Model` takes a `paddle.io.Dataset`: an object that gives one (image, label) pair per index and
# its length; `fit` batches and shuffles it itself. The arrays are the course's file, as in every lab:
# `MnistDataset` is the `paddle.io.Dataset` variant of the course's loader.

# %% [markdown] lang="zh"
# ## 把数据做成 Dataset
# 本实验用相同的设置把同一个 CNN 训练两遍：一遍用 Paddle 的高层 API，一遍用共享库里手写的训练循环
# （`digits.training.fit`，也就是前面几个实验写出来的循环）。`paddle.Model` 接收的是 `paddle.io.Dataset`：这种对象按索引给出一对（图像，标签），还能给出自己的长度；
# `fit` 自己负责分 batch 和打乱。数组来自课程的数据文件，每个实验都一样：`MnistDataset` 就是课程数据读取器的
# `paddle.io.Dataset` 版本。

# %%
train_set, valid_set, eval_set = (MnistDataset(mode, image_shape=IMAGE, label_dtype="int64")
                                  for mode in ("train", "valid", "eval"))
print(f"{len(train_set)} training images; one pair: image {train_set[0][0].shape}, label {train_set[0][1]}")

# %% [markdown] lang="en"
# ## Wrap the network, and prepare it
# `paddle.Model` wraps the course CNN; the `InputSpec`s name the shapes and types of what a batch holds.
# `prepare` takes what the hand-written loop spells out: the optimizer (here with its learning-rate
# schedule), the loss, and the metric to report; `fit`, `evaluate` and `predict` then run the loop. The
# settings: Adam, lr 0.001 decaying to 0.0001 over the run, batch 100, 3 epochs.

# %% [markdown] lang="zh"
# ## 包装网络，做好准备
# `paddle.Model` 包装课程的 CNN；`InputSpec` 说明一个 batch 里各项数据的形状和类型。
# `prepare` 接收手写循环里要一一写出的东西：优化器（这里带学习率策略）、损失函数，以及要报告的评估指标；
# 然后由 `fit`、`evaluate` 和 `predict` 运行训练循环。设置：Adam，学习率在整个训练过程中从 0.001 衰减到 0.0001，
# batch 100，训练 3 轮。

# %%
seed_everything(seed)
model = paddle.Model(accelerate(CNN(10)),
                     inputs=[paddle.static.InputSpec([None, *IMAGE], "float32", "image")],
                     labels=[paddle.static.InputSpec([None, 1], "int64", "label")])
steps = epochs * batches_per_epoch(len(train_set), 100)
schedule = paddle.optimizer.lr.PolynomialDecay(learning_rate=0.001, decay_steps=steps, end_lr=0.0001)
model.prepare(paddle.optimizer.Adam(learning_rate=schedule, parameters=model.parameters()),
              paddle.nn.CrossEntropyLoss(), paddle.metric.Accuracy())

# %% [markdown] lang="en"
# ## Callbacks: the loop's bookkeeping
# `fit` calls each callback at the start and end of every batch and epoch. These four do what earlier
# labs wrote by hand: print the loss and accuracy (`ProgBarLogger`), save the weights and optimizer after
# every epoch (`ModelCheckpoint`, lab 08's `paddle.save`), stop when the valid accuracy stops improving
# (`EarlyStopping`), and step the learning-rate schedule after every batch (`LRScheduler`). `visualdl =
# True` adds a fifth, `VisualDL`, which logs the scalars for VisualDL (`pip install visualdl`).

# %% [markdown] lang="zh"
# ## 回调：训练循环里的记账工作
# `fit` 在每个 batch 和每一轮的开始和结束时调用各个回调。下面四个回调完成前面实验里亲手写的事情：
# 打印损失和准确率（`ProgBarLogger`），每轮结束后保存权重和优化器状态（`ModelCheckpoint`，相当于实验 08 的
# `paddle.save`），验证集准确率不再提高时停止训练（`EarlyStopping`），每个 batch 之后推进一步学习率策略
# （`LRScheduler`）。设 `visualdl = True` 会再加上第五个回调 `VisualDL`，为 VisualDL 记录标量
# （需要 `pip install visualdl`）。

# %%
def visualdl_callback(folder):
    try:
        import visualdl  # noqa: F401  (paddle.callbacks.VisualDL imports it when training starts)
    except ImportError:
        raise UserError("visualdl = True needs the optional visualdl package: pip install visualdl") from None
    return paddle.callbacks.VisualDL(log_dir=folder)


callbacks = [paddle.callbacks.ProgBarLogger(log_freq=100, verbose=2),
             paddle.callbacks.ModelCheckpoint(save_freq=1, save_dir=f"{out}/checkpoints"),
             paddle.callbacks.EarlyStopping(monitor="acc", mode="max", patience=1, save_best_model=False),
             paddle.callbacks.LRScheduler(by_step=True, by_epoch=False)]
if visualdl:
    callbacks.append(visualdl_callback(f"{out}/visualdl"))

# %% [markdown] lang="en"
# ## fit, evaluate, predict
# One call trains (with the valid split measured after each epoch), one evaluates on the eval split, one
# returns the network's outputs: the ten scores per image, whose largest is the predicted digit.

# %% [markdown] lang="zh"
# ## fit、evaluate、predict
# 一次调用完成训练（每轮结束后在验证集上测一次），一次调用在测试集（课程的 eval 数据）上评估，
# 一次调用返回网络的输出：每张图片十个分数，最大的那个就是预测的数字。

# %%
started = time.perf_counter()
model.fit(train_set, valid_set, batch_size=100, epochs=epochs, shuffle=True, verbose=0, callbacks=callbacks)
high_level_seconds = (time.perf_counter() - started) / epochs
high_level_accuracy = model.evaluate(eval_set, batch_size=500, verbose=0)["acc"]
first_scores = model.predict(paddle.io.Subset(eval_set, range(10)), batch_size=10, verbose=0)[0][0]
print(f"paddle.Model.predict on 10 eval digits: {np.argmax(first_scores, axis=1).tolist()} "
      f"(labels {[int(eval_set[i][1][0]) for i in range(10)]})")

# %% [markdown] lang="en"
# ## The hand-written loop, for comparison
# The library's `fit` runs lab 02's loop with the same settings (it draws its loss live, too).

# %% [markdown] lang="zh"
# ## 手写循环，用来对比
# 共享库的 `fit` 用相同的设置运行实验 02 的训练循环（它同样会实时画出损失曲线）。

# %%
started = time.perf_counter()
hand = fit(TrainConfig(model="cnn", loss="ce", optimizer="adam", lr=0.001, lr_schedule="polynomial",
                       epochs=epochs, seed=seed, out=f"{out}/hand-written"), lambda: CNN(10))
hand_seconds = (time.perf_counter() - started) / epochs

# %% [markdown] lang="en"
# ## Side by side
# About the same accuracy: the same steps, written once for every model in the high-level API (they see
# the images in different orders, so not the same weights). The seconds per epoch include what each does
# besides training: the library's `fit` also evaluates the eval split, writes its run folder and draws
# its figures.

# %% [markdown] lang="zh"
# ## 并排比较
# 两者的准确率大致相同：训练的步骤是一样的，高层 API 只是把它们写好一次，所有模型通用（两者看到图片的
# 顺序不同，所以权重并不相同）。每轮的秒数包含了训练之外的工作：共享库的 `fit` 还要在测试集上评估、
# 写运行文件夹、画图。

# %%
print(f"{'':22s} {'eval acc':>9s} {'s/epoch':>8s}  (train + valid each epoch)")
print(f"{'paddle.Model':22s} {100 * high_level_accuracy:8.2f}% {high_level_seconds:8.1f}")
print(f"{'hand-written loop':22s} {100 * hand.eval['accuracy']:8.2f}% {hand_seconds:8.1f}")
record(out, high_level_accuracy=high_level_accuracy, hand_written_accuracy=hand.eval["accuracy"],
       predict_correct=sum(int(np.argmax(first_scores[i])) == int(eval_set[i][1][0])
                           for i in range(10)))  # for the lab report

# %% [markdown] lang="en"
# ## How this lab differs from the course
# - Chapter 2 never uses the high-level API; Paddle's quick start and the course's later chapters do. The
#   settings are this project's: Adam, lr 0.001 decaying to 0.0001 over the run, batch 100, 3 epochs, that
#   is `train.py`'s default (the course's best classifier) with a polynomial decay, which shows the
#   `LRScheduler` callback at work.
# - Both ways run the CNN on oneDNN's conv kernels (`digits.onednn.accelerate`; `onednn = False`: Paddle's
#   own).
# - The two see the images in different orders, so the check is that both reach about the same
#   accuracy, not the same weights: `paddle.Model.fit` shuffles with a `DistributedBatchSampler` that
#   seeds each epoch with its number (`np.random.RandomState(epoch)`), whatever `seed` says; the
#   course's loader draws from the seeded global NumPy RNG. With seed 0 the first epoch's order
#   happens to be the same (one epoch, `quick`: identical weights); later epochs differ.

# %% [markdown] lang="zh"
# ## 与课程的不同
# - 第 2 章没有用到高层 API；Paddle 官方快速上手教程和课程后面的章节才用它。设置是本项目的：Adam，学习率在整个
#   训练过程中从 0.001 衰减到 0.0001，batch 100，训练 3 轮，即 `train.py` 的默认设置（课程中效果最好的分类器），
#   再加上多项式衰减，用来展示 `LRScheduler` 回调的作用。
# - 两种方式都在 oneDNN 的卷积内核上运行 CNN（`digits.onednn.accelerate`；`onednn = False` 时用 Paddle 自己的）。
# - 两者看到图片的顺序不同，所以要检验的是两者的准确率大致相同，而不是权重相同：`paddle.Model.fit`
#   用 `DistributedBatchSampler` 打乱数据，每轮都用这一轮的编号作随机种子（`np.random.RandomState(epoch)`），
#   不管 `seed` 设的是多少；课程的数据读取器则从设过种子的全局 NumPy 随机数生成器中抽取。seed 为 0 时，
#   第一轮的顺序碰巧相同（只训练一轮，即 `quick` 时，权重完全相同）；之后各轮就不同了。
