# %% [markdown] lang="en"
# # Lab 11b · NumPy track: the same network in NumPy and in Paddle, number for number
#
# - **Source:** lab 11's network (the TwoLayerNet of Saito's textbook) beside Paddle; not a section of the course.
# - **You build:** `784 -> 50 -> ReLU -> 10 -> softmax + cross-entropy` twice: in NumPy from `digits/numpy_nn.py`
#   (lab 11's layers) and in Paddle, written out; the Paddle layers get copies of the NumPy weights.
# - **You will see:** one batch's scores, loss and every gradient side by side, then a few SGD steps in each:
#   equal up to float32 rounding.
#
# As a script: `python labs/11b_numpy_vs_paddle.py` (`--help` lists its flags).

# %% [markdown] lang="zh"
# # 实验 11b · NumPy 篇：同一个网络，NumPy 与 Paddle 逐个数值对照
#
# - **来源**：实验 11 的网络（斋藤康毅书中的 TwoLayerNet），与 Paddle 对照；不是课程中的章节。
# - **本实验要做的**：把 `784 -> 50 -> ReLU -> 10 -> softmax + cross-entropy` 搭两遍：一遍用 NumPy，来自
#   `digits/numpy_nn.py`（实验 11 的各层）；一遍用 Paddle，代码写在下面；Paddle 的各层拿到 NumPy 权重的副本。
# - **你会看到**：同一个 batch 的分数、损失和每个梯度并排打印；然后两边各走几步 SGD：差别只在 float32 的
#   舍入误差以内。
#
# 作为脚本运行：`python labs/11b_numpy_vs_paddle.py`（`--help` 列出所有参数）。

# %%
import digits  # noqa: F401  (first: it sets NumPy's BLAS threads and quiets Paddle before they load)
import numpy as np
import paddle
import paddle.nn.functional as F

from digits.data import load_course_data
from digits.errors import UserError
from digits.lab import lab_setup, record
from digits.numpy_nn import SGD, batches, mlp, pixels_in_unit_range
from digits.prepare import ensure_datafile

# %% tags=["parameters"]
steps = 5  # SGD steps taken in both
seed = 0  # fixes the NumPy weights (copied into Paddle) and the order of the batches
quick = False  # a smoke test, as CI runs the labs (this lab is one batch and a few steps either way)

# %%
out = lab_setup("lab11b", globals())  # a script's flags replace the values above; out = runs/lab11b/<time>
if steps < 1:
    raise UserError(f"steps = {steps}: must be at least 1")

# %% [markdown] lang="en"
# ## The network in Paddle
# Lab 11 wrote every backward pass by hand. Paddle's autograd derives the same gradients from the forward
# pass alone, so the two must agree. The same maths as lab 11, $Z = \max(X W_1 + b_1, 0)\, W_2 + b_2$ and $L = -\frac{1}{N}\sum_n \log
# \mathrm{softmax}(z_n)_{t_n}$, but only the forward pass is written. `loss.backward()` walks the graph of
# operations the forward pass recorded, from the loss back, and applies each operation's own derivative:
# the chain rule lab 11 applied by hand, layer by layer, done by the framework.

# %% [markdown] lang="zh"
# ## 用 Paddle 搭网络
# 实验 11 把每一层的反向传播都亲手写了出来。Paddle 的自动微分只凭前向计算就能推导出同样的梯度，所以两者
# 必须一致。数学与实验 11 相同，$Z = \max(X W_1 + b_1, 0)\, W_2 + b_2$，$L = -\frac{1}{N}\sum_n \log \mathrm{softmax}(z_n)_{t_n}$，
# 但只写前向计算。`loss.backward()` 从损失出发，沿着前向计算时记录下来的运算图往回走，对每个运算应用它自己
# 的导数：实验 11 逐层亲手应用的链式法则，这里由框架来完成。

# %%
BATCH, LEARNING_RATE = 100, 0.1


class PaddleTwoLayerNet(paddle.nn.Layer):
    """scores = relu(x W1 + b1) W2 + b2, in Paddle; the loss is F.cross_entropy (softmax inside)."""

    def __init__(self):
        super().__init__()
        self.fc1 = paddle.nn.Linear(784, 50)
        self.fc2 = paddle.nn.Linear(50, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


def twin_parameters(numpy_net, paddle_net):
    """{name: (NumPy array, Paddle parameter)} for the same parameter of the two networks. The NumPy
    net's layers are [Affine, ReLU, Affine]: its state keys are 'layer index.W' and 'layer index.b'."""
    state = numpy_net.state()
    return {"fc1.weight": (state["0.W"], paddle_net.fc1.weight), "fc1.bias": (state["0.b"], paddle_net.fc1.bias),
            "fc2.weight": (state["2.W"], paddle_net.fc2.weight), "fc2.bias": (state["2.b"], paddle_net.fc2.bias)}


differences = {}  # name: the largest |NumPy - Paddle| that compare() printed


def compare(name, ours, theirs):
    """One line: the array's shape, its largest-magnitude entry in NumPy and the same entry in Paddle,
    and the largest |NumPy - Paddle| over the whole array."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    where = np.unravel_index(np.abs(ours).argmax(), ours.shape) if ours.ndim else ()
    differences[name] = np.abs(ours - theirs).max()
    print(f"  {name:18s} {str(list(ours.shape)):10s} {str([int(i) for i in where]):10s} {ours[where]:+.8f} "
          f"{theirs[where]:+.8f}   max |difference| {differences[name]:.1e}")


# %% [markdown] lang="en"
# ## Two twins, one batch
# The NumPy net's weights are copied into the Paddle net. `paddle.nn.Linear` computes `y = x W + b` with its
# weight stored as `[in, out]`, the same layout as numpy_nn's `Affine`, so the copy needs no transpose
# (`torch.nn.Linear` stores `[out, in]` and would). One real batch of training digits, pixels in [0, 1] as in
# lab 11, goes forward through both; NumPy's `loss_and_gradients` runs lab 11's hand-written backward passes,
# $\partial L/\partial Z = (P - Y)/N$, then $\partial L/\partial W = X^\top G$, $\partial L/\partial b = \sum_n G_n$,
# $\partial L/\partial X = G W^\top$ and the ReLU mask, layer by layer; Paddle's `backward()` derives the
# same gradients from its graph and leaves them in each parameter's `.grad`. The lab prints, for the scores,
# the loss and the gradient of every parameter: the array's largest entry in NumPy, the same entry in Paddle,
# and the largest absolute difference over the whole array.

# %% [markdown] lang="zh"
# ## 一对孪生网络，一个 batch
# 把 NumPy 网络的权重复制到 Paddle 网络里。`paddle.nn.Linear` 计算 `y = x W + b`，权重按 `[in, out]` 存储，
# 与 numpy_nn 的 `Affine` 布局相同，所以复制时不需要转置（`torch.nn.Linear` 按 `[out, in]` 存储，就需要转置）。
# 取一个真实的训练数字 batch（和实验 11 一样，像素在 [0, 1] 之间），分别前向通过两个网络；NumPy 的
# `loss_and_gradients` 运行实验 11 手写的反向传播，先算 $\partial L/\partial Z = (P - Y)/N$，再逐层算
# $\partial L/\partial W = X^\top G$、$\partial L/\partial b = \sum_n G_n$、$\partial L/\partial X = G W^\top$
# 和 ReLU 的掩码；Paddle 的 `backward()` 从运算图推导出同样的梯度，放在每个参数的 `.grad` 里。对分数、损失
# 和每个参数的梯度，本实验打印：这个数组在 NumPy 里绝对值最大的元素、Paddle 里同一位置的元素，以及整个数组
# 上最大的绝对差。

# %%
images, labels = pixels_in_unit_range(load_course_data(ensure_datafile()))["train"]
some_batches = batches(images, labels, BATCH, np.random.default_rng(seed))

numpy_net = mlp([784, 50, 10], "relu", seed=seed)
paddle_net = PaddleTwoLayerNet()
for ours, theirs in twin_parameters(numpy_net, paddle_net).values():
    theirs.set_value(ours.copy())  # a copy: Paddle's weights must not alias NumPy's as both train

x, y = next(some_batches)
numpy_loss = numpy_net.loss_and_gradients(x, y)  # forward, then every backward pass by hand
paddle_scores = paddle_net(paddle.to_tensor(x))
paddle_loss = F.cross_entropy(paddle_scores, paddle.to_tensor(y.reshape(-1, 1)))
paddle_loss.backward()  # autograd: the backward passes derived from the forward graph

print(f"one batch of {len(x)} training digits through both networks:")
print(f"  {'':18s} {'shape':10s} {'at':10s} {'NumPy':>11s} {'Paddle':>11s}")
compare("scores", numpy_net.forward(x), paddle_scores.numpy())
compare("loss", numpy_loss, paddle_loss.numpy())
grads = {"fc1.weight": numpy_net.layers[0].grads["W"], "fc1.bias": numpy_net.layers[0].grads["b"],
         "fc2.weight": numpy_net.layers[2].grads["W"], "fc2.bias": numpy_net.layers[2].grads["b"]}
for name, (_, parameter) in twin_parameters(numpy_net, paddle_net).items():
    compare(f"dL/d {name}", grads[name], parameter.grad.numpy())

# %% [markdown] lang="en"
# ## A few SGD steps in both
# Both take the step $w \leftarrow w - \eta\,\partial L/\partial w$ with $\eta = 0.1$ from the gradients
# above, then the same next batches. If the gradients agree, the losses and the weights must stay equal,
# step after step, up to float32 rounding: float32 keeps about 7 significant digits, and the two libraries
# add the same products in different orders.

# %% [markdown] lang="zh"
# ## 两边各走几步 SGD
# 两边都用上面的梯度走一步 $w \leftarrow w - \eta\,\partial L/\partial w$（$\eta = 0.1$），然后在同样的后续
# batch 上继续。如果梯度一致，损失和权重就必须一步接一步地保持相等，差别只在 float32 的舍入误差以内：
# float32 大约保留 7 位有效数字，而两个库把同样的乘积相加的顺序不同。

# %%
print(f"SGD with learning rate {LEARNING_RATE}: the step above, then {steps - 1} more on the next batches:")
numpy_sgd = SGD(LEARNING_RATE)
paddle_sgd = paddle.optimizer.SGD(learning_rate=LEARNING_RATE, parameters=paddle_net.parameters())
print(f"  {'step':>4s} {'NumPy loss':>11s} {'Paddle loss':>11s}")
step_losses = []  # (NumPy, Paddle) at each step
for step in range(steps):
    if step:  # the first step's losses and gradients are the ones compared above
        x, y = next(some_batches)
        numpy_loss = numpy_net.loss_and_gradients(x, y)
        paddle_loss = F.cross_entropy(paddle_net(paddle.to_tensor(x)), paddle.to_tensor(y.reshape(-1, 1)))
        paddle_loss.backward()
    print(f"  {step + 1:4d} {numpy_loss:11.8f} {float(paddle_loss):11.8f}   "
          f"max |difference| {abs(numpy_loss - float(paddle_loss)):.1e}")
    step_losses.append((numpy_loss, float(paddle_loss)))
    numpy_sgd.step(numpy_net)   # w <- w - lr dL/dw, on the NumPy arrays
    paddle_sgd.step()           # the same, on Paddle's parameters
    paddle_sgd.clear_grad()     # Paddle adds each backward's gradients to .grad unless cleared
print(f"the weights after {steps} steps:")
for name, (ours, theirs) in twin_parameters(numpy_net, paddle_net).items():
    compare(name, ours, theirs.numpy())
record(out, score_difference=differences["scores"], loss_difference=differences["loss"],
       gradient_difference=max(differences[f"dL/d {name}"] for name in grads),
       step_loss_difference=max(abs(a - b) for a, b in step_losses),
       weight_difference=max(differences[name] for name in grads),
       first_loss=step_losses[0][0], last_loss=step_losses[-1][0])  # for the lab report


# %% [markdown] lang="en"
# ## How this lab differs from the course
# The course uses Paddle's autograd and never writes a backward pass; this lab is the NumPy track's check
# that lab 11's hand-written backward passes are what autograd computes. The network is lab 11's, the
# TwoLayerNet of Saito's textbook 深度学习入门; the side-by-side comparison with Paddle is this project's own.
# As in lab 11, the pixels are scaled to [0, 1], not left at the course file's [-1, 1].

# %% [markdown] lang="zh"
# ## 与课程的不同
# 课程用 Paddle 的自动微分，从不自己写反向传播；本实验是 NumPy 篇的一次检验：实验 11 手写的反向传播，
# 算出来的正是自动微分的结果。网络是实验 11 的，即斋藤康毅《深度学习入门》中的 TwoLayerNet；与 Paddle
# 并排对照是本项目自己加的。和实验 11 一样，像素缩放到 [0, 1]，而不是课程数据文件的 [-1, 1]。
