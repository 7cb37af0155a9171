# %% [markdown] lang="en"
# # Lab 02 · 网络结构 (MLP): a fully connected network that regresses the digit's value
#
# - **Course:** 【手写数字识别】之网络结构 (the MLP half).
# - **You build:** the course's MLP, `Linear(784,10) -> sigmoid -> Linear(10,10) -> sigmoid -> Linear(10,1)`,
#   and the training loop every later lab uses, written out: forward, loss, backward, step, clear_grad.
# - **You will see:** the sigmoid curve, the MLP's loss falling as it trains, and how often its prediction,
#   rounded, is the digit.
#
# As a script: `python labs/02_mlp_regression.py` (`--help` lists its flags).

# %% [markdown] lang="zh"
# # 实验 02 · 网络结构（MLP）：用全连接网络回归数字的值
#
# - **对应课程章节**：【手写数字识别】之网络结构（前半部分，多层感知机）。
# - **本实验要做的**：课程的 MLP：`Linear(784,10) -> sigmoid -> Linear(10,10) -> sigmoid -> Linear(10,1)`；
#   再把后面每个实验都沿用的训练循环完整写出来：前向计算、计算损失、反向传播、更新参数、清除梯度。
# - **你会看到**：sigmoid 曲线，MLP 训练时损失的下降，以及预测值四舍五入后等于标签的比例。
#
# 作为脚本运行：`python labs/02_mlp_regression.py`（`--help` 列出所有参数）。

# %%
import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
import paddle.nn.functional as F
from digits.data import load_data
from digits.lab import lab_setup, record
from digits.plots import LiveCurves, plot_curves
from digits.training import seed_everything

# %% tags=["parameters"]
epochs = 10  # passes over the training set (the course's 10)
seed = 0  # fixes Python, NumPy (the loader's shuffle) and Paddle (the initial weights)
quick = False  # one epoch only: a smoke test, as CI runs the labs

# %%
out = lab_setup("lab02", globals())  # a script's flags replace the values above; out = runs/lab02/<time>

# %% [markdown] lang="en"
# ## The sigmoid
# Before the network, the course draws its activation function, `sigmoid(x) = 1 / (1 + exp(-x))`, over
# `x = np.arange(-8, 8, 0.2)`. Whatever number a layer computes, the sigmoid maps it into (0, 1): large
# negative inputs come out near 0, large positive ones near 1, and 0 gives 0.5. Between about -4 and 4 it
# is a smooth step; outside that it is flat, so its slope there is almost 0 and a unit driven that far
# learns slowly. It is also what keeps the MLP below from being one big linear layer: without a
# nonlinearity between them, three `Linear` layers in a row compute just another linear function.

# %% [markdown] lang="zh"
# ## sigmoid 函数
# 在搭网络之前，课程先画出它用的激活函数 `sigmoid(x) = 1 / (1 + exp(-x))`，取 `x = np.arange(-8, 8, 0.2)`。
# 不管一层算出的数是多少，sigmoid 都把它映射到 (0, 1) 之间：很大的负数变成接近 0，很大的正数变成
# 接近 1，0 变成 0.5。在 -4 到 4 左右，它是一个平滑的台阶；超出这个范围，曲线几乎是平的，斜率接近
# 0，被推到那里的神经元学得很慢。下面的 MLP 不会退化成一个大的线性层，也是靠它：层与层之间没有
# 非线性，连着的三个 `Linear` 层算出的仍然只是一个线性函数。

# %%
x = np.arange(-8, 8, 0.2)  # the course's points
s = 1.0 / (1 + np.exp(0.0 - x))  # the sigmoid, as the course computes it
figure = plot_curves({r"$y = 1 / (1 + e^{-x})$": (x, s)}, f"{out}/sigmoid.png", "the sigmoid activation function",
                     xlabel="x", ylabel="sigmoid(x)")
print(f"sigmoid on {len(x)} points from {x[0]:g} to {x[-1]:g}: {s.min():.4f} to {s.max():.4f}, "
      f"all in (0, 1): {bool(np.all((s > 0) & (s < 1)))}; figure: {figure}")

# %% [markdown] lang="en"
# ## The network
# Three fully connected layers; the sigmoid after each hidden one squashes its ten values into (0, 1).
# The last layer has one output: the network's guess of the digit as a number. This class is the one
# `models/mlp.py` keeps for `train.py --model mlp`.

# %% [markdown] lang="zh"
# ## 网络结构
# 三个全连接层；每个隐藏层后面接一个 sigmoid，把这一层的十个值压到 (0, 1) 之间。
# 最后一层只有一个输出：网络猜测的数字（一个数）。这个类与 `models/mlp.py` 中的相同，
# `train.py --model mlp` 用的就是它。

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
# The network is trained as a regression: the mean squared error against the digit as a number, SGD with
# learning rate 0.01, batches of 100, 10 epochs, the loss printed every 200 batches, as in the course.
# Each batch: forward, the loss, backward, one optimizer step, clear the gradients. Every later lab runs
# this loop: from lab 03 on the same lines run inside `digits.training`, whose `train_step()` is exactly the
# five lines marked below, and whose `train()` adds the bookkeeping (loss lines, records, checkpoints, the
# live curve). The curve below the cell is redrawn as the loss comes in (in a notebook; a script saves it as
# a PNG at the end).

# %% [markdown] lang="zh"
# ## 训练循环
# 网络按回归任务训练：损失函数是均方误差（把数字当作一个数来比较），优化算法用 SGD，学习率 0.01，
# batch 100，训练 10 轮，每 200 个 batch 打印一次损失，与课程一致。每个 batch：前向计算，计算损失，
# 反向传播，优化器走一步，清除梯度。后面每个实验都沿用这个循环：从实验 03 开始，同样几行代码在
# `digits.training` 里运行，`train_step()` 就是下面标出的五行，`train()` 再加上记账的部分（打印损失、
# 记录、保存检查点、实时曲线）。损失一算出来，单元格下方的曲线就会重画（在笔记本里；作为脚本运行时，
# 结束时保存为 PNG）。

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
# number is the digit: a number for how well a regression classifies.

# %% [markdown] lang="zh"
# ## 评估
# 在 10,000 张测试图片上计算均方误差，以及预测值四舍五入后等于标签的比例：用一个数说明回归模型做分类
# 做得怎么样。

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

# %% [markdown] lang="en"
# ## How this lab differs from the course
# - The course defines this MLP but prints no training output for it; lab 03 puts its loss curve beside the
#   CNN's.
# - The labels are `[B, 1]` (as the course's 【手写数字识别】之网络结构 reshapes them), so the loss is one
#   number per image; lab 00 shows what `[B]` labels do.
# - A prediction counts as right when it rounds to the label, to put a number on how well a regression
#   classifies; the course measures no accuracy for it.

# %% [markdown] lang="zh"
# ## 与课程的不同
# - 课程只定义了这个 MLP，没有给出它的训练输出；实验 03 会把它的损失曲线和 CNN 的放在一起比较。
# - 标签的形状是 `[B, 1]`（与课程【手写数字识别】之网络结构中 reshape 后的一致），所以每张图只有一个
#   损失值；标签为 `[B]` 时会发生什么，见实验 00。
# - 预测值四舍五入后等于标签就算预测正确，这样可以用一个数说明回归模型做分类做得怎么样；课程没有
#   为它计算准确率。
