# %% [markdown] lang="en"
# # Lab 02 · 网络结构 (MLP): a fully connected network that regresses the digit's value
#
# Course section: 【手写数字识别】之网络结构 (the MLP half). The network is the course's:
# `Linear(784,10) -> sigmoid -> Linear(10,10) -> sigmoid -> Linear(10,1)`, trained as a regression (mean
# squared error against the digit as a number) with SGD, lr 0.01, batch 100, 10 epochs, the loss printed
# every 200 batches. The course defines this MLP but prints no training output for it; lab 03 puts its
# curve beside the CNN's.
#
# This lab writes out the training loop every later lab uses: forward, loss, backward, step,
# clear_grad. From lab 03 on the same lines run inside `digits.training`: its `train_step()` is exactly
# the five lines marked below, and its `train()` adds the bookkeeping (loss lines, records, checkpoints,
# the live curve). The MLP class is the one `models/mlp.py` keeps for `train.py --model mlp`.
#
# **Deviations from the course.** The labels are `[B, 1]` (as the course's lab 3 reshapes them), so the
# loss is one number per image; lab 00 shows what `[B]` labels do. A prediction counts as right when it
# rounds to the label, to put a number on how well a regression classifies.
#
# As a script: `python labs/02_mlp_regression.py` (`--help` lists its flags).

# %% [markdown] lang="zh"
# # 实验 02 · 网络结构（MLP）：用全连接网络回归数字的值
#
# 对应课程章节：【手写数字识别】之网络结构（前半部分，多层感知机）。网络与课程一致：
# `Linear(784,10) -> sigmoid -> Linear(10,10) -> sigmoid -> Linear(10,1)`，按回归任务训练：
# 损失函数是均方误差（把数字当作一个数来比较），优化算法用 SGD，学习率 0.01，batch 100，训练 10 轮，
# 每 200 个 batch 打印一次损失。课程只定义了这个 MLP，没有给出它的训练输出；实验 03 会把它的损失曲线
# 和 CNN 的放在一起比较。
#
# 本实验把训练循环完整写出来，后面每个实验都沿用它：前向计算、计算损失、反向传播、更新参数、清除梯度。
# 从实验 03 开始，同样几行代码在 `digits.training` 里运行：`train_step()` 就是下面标出的五行，
# `train()` 再加上记账的部分（打印损失、记录、保存检查点、实时曲线）。这里的 MLP 类与
# `models/mlp.py` 中的相同，`train.py --model mlp` 用的就是它。
#
# **与课程的不同。** 标签的形状是 `[B, 1]`（与课程第 3 节 reshape 后一致），所以每张图只有一个损失值；
# 标签为 `[B]` 时会发生什么，见实验 00。预测值四舍五入后等于标签就算预测正确，这样可以用一个数说明
# 回归模型做分类做得怎么样。
#
# 作为脚本运行：`python labs/02_mlp_regression.py`（`--help` 列出所有参数）。

# %%
import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
import paddle.nn.functional as F
from digits.data import load_data
from digits.lab import lab_setup, record
from digits.plots import LiveCurves
from digits.training import seed_everything

# %% tags=["parameters"]
epochs = 10  # passes over the training set (the course's 10)
seed = 0  # fixes Python, NumPy (the loader's shuffle) and Paddle (the initial weights)
quick = False  # one epoch only: a smoke test, as CI runs the labs

# %%
out = lab_setup("lab02", globals())  # a script's flags replace the values above; out = runs/lab02/<time>

# %% [markdown] lang="en"
# ## The network
# Three fully connected layers; the sigmoid after each hidden one squashes its ten values into (0, 1).
# The last layer has one output: the network's guess of the digit as a number.

# %% [markdown] lang="zh"
# ## 网络结构
# 三个全连接层；每个隐藏层后面接一个 sigmoid，把这一层的十个值压到 (0, 1) 之间。
# 最后一层只有一个输出：网络猜测的数字（一个数）。

# %%
class MLP(paddle.nn.Layer):
    """784 -> 10 -> 10 -> 1, a sigmoid after each hidden layer."""

    def __init__(self):
        super().__init__()
        self.fc1 = paddle.nn.Linear(in_features=784, out_features=10)
        self.fc2 = paddle.nn.Linear(in_features=10, out_features=10)
        self.fc3 = paddle.nn.Linear(in_features=10, out_features=1)

    def forward(self, inputs):
        outputs1 = F.sigmoid(self.fc1(inputs))
        outputs2 = F.sigmoid(self.fc2(outputs1))
        return self.fc3(outputs2)


# %% [markdown] lang="en"
# ## The training loop
# Each batch: forward, the loss, backward, one optimizer step, clear the gradients. The curve below the
# cell is redrawn as the loss comes in (in a notebook; a script saves it as a PNG at the end).

# %% [markdown] lang="zh"
# ## 训练循环
# 每个 batch：前向计算，计算损失，反向传播，优化器走一步，清除梯度。损失一算出来，单元格下方的曲线
# 就会重画（在笔记本里；作为脚本运行时，结束时保存为 PNG）。

# %%
def train(model, epochs, live, log_interval=200):
    """The course's training loop. Returns the loss of every batch; `live` draws them as they come."""
    model.train()
    train_loader = load_data("train", batch_size=100)      # lab 01's loader: (images [B,784], labels [B,1])
    optimizer = paddle.optimizer.SGD(learning_rate=0.01, parameters=model.parameters())
    losses = []
    for epoch_id in range(epochs):
        for batch_id, (images, labels) in enumerate(train_loader()):
            images, labels = paddle.to_tensor(images), paddle.to_tensor(labels)
            # --- the step: digits.training.train_step runs these same five lines ---
            predicts = model(images)                                # forward
            loss = F.square_error_cost(predicts, labels)            # (prediction - label)^2 per image
            avg_loss = paddle.mean(loss)                            # one number for the batch
            avg_loss.backward()                                     # gradients of every parameter
            optimizer.step()                                        # w <- w - lr * dL/dw
            optimizer.clear_grad()                                  # gradients accumulate unless cleared
            # --- bookkeeping ---
            losses.append(float(avg_loss))
            live.add("MLP 784-10-10-1, SGD 0.01", len(losses), losses[-1])
            if batch_id % log_interval == 0:
                print(f"epoch: {epoch_id}, batch: {batch_id}, loss is: {float(avg_loss):.4f}")
    return losses


# %% [markdown] lang="en"
# ## Evaluation
# The mean squared error over the 10,000 test images, and how often the prediction rounded to a whole
# number is the digit.

# %% [markdown] lang="zh"
# ## 评估
# 在 10,000 张测试图片上计算均方误差，以及预测值四舍五入后等于标签的比例。

# %%
@paddle.no_grad()
def evaluate(model, mode="eval"):
    """Mean squared error over a split, and how often the rounded prediction is the digit."""
    model.eval()
    squared_errors, hits, count = 0.0, 0, 0
    for images, labels in load_data(mode, batch_size=500)():
        predicts = model(paddle.to_tensor(images)).numpy()
        squared_errors += float(np.sum((predicts - labels) ** 2))
        hits += int(np.sum(np.clip(np.rint(predicts), 0, 9) == labels))
        count += len(labels)
    model.train()
    return squared_errors / count, hits / count


# %% [markdown] lang="en"
# ## Run it

# %% [markdown] lang="zh"
# ## 运行

# %%
seed_everything(seed)  # Python, NumPy (the loader's shuffle) and Paddle (the initial weights)
model = MLP()
live = LiveCurves("train loss, MSE regression", logy=True)
losses = train(model, epochs, live)
print(f"loss curve: {live.save(f'{out}/loss.png')}")
mse, accuracy = evaluate(model)
steps_per_epoch = len(losses) // epochs
print(f"final train loss {np.mean(losses[-steps_per_epoch:]):.4f} (mean of the last epoch); eval MSE {mse:.4f}, "
      f"rounded-prediction accuracy {100 * accuracy:.2f}%")
record(out, train_loss=np.mean(losses[-steps_per_epoch:]), eval_mse=mse, rounded_accuracy=accuracy)  # for the lab report
