# %% [markdown] lang="en"
# # Lab 11 · NumPy track: a two-layer net with backpropagation written by hand
#
# - **Source:** the TwoLayerNet of Saito's textbook 深度学习入门 (chapter 5); not a section of the course.
# - **You build:** `784 -> 50 -> ReLU -> 10 -> softmax + cross-entropy` in NumPy: each layer's forward and
#   hand-written backward pass, a gradient check, and the textbook's SGD (lr 0.1, batch 100, 10,000 iterations).
# - **You will see:** backprop agree with central differences; train and test accuracy per epoch and the loss,
#   drawn while the net trains; the final test accuracy, to hold against the textbook's ~97%.
#
# As a script: `python labs/11_numpy_two_layer_net.py` (`--help` lists its flags).

# %% [markdown] lang="zh"
# # 实验 11 · NumPy 篇：手写反向传播的两层神经网络
#
# - **来源**：斋藤康毅《深度学习入门：基于Python的理论与实现》第 5 章的 TwoLayerNet；不是课程中的章节。
# - **本实验要做的**：用 NumPy 搭 `784 -> 50 -> ReLU -> 10 -> softmax + cross-entropy`：写出每一层的正向传播和
#   手写的反向传播，做梯度确认，再按书中的设置用 SGD 训练（学习率 0.1，batch 100，迭代 10,000 次）。
# - **你会看到**：反向传播与中心差分的结果一致；训练过程中实时画出的每轮训练集、测试集准确率和损失；
#   最后的测试集准确率，可以和书中的约 97% 对比。
#
# 作为脚本运行：`python labs/11_numpy_two_layer_net.py`（`--help` 列出所有参数）。

# %%
import digits  # noqa: F401  (first: it sets NumPy's BLAS threads before NumPy loads)
import numpy as np

from digits.data import batches_per_epoch, load_course_data
from digits.lab import lab_setup, record
from digits.numpy_nn import Layer, Network, gradient_check, mlp, pixels_in_unit_range, train
from digits.plots import LiveCurves
from digits.prepare import ensure_datafile

# %% tags=["parameters"]
epochs = 20  # passes over the training images: 20 x 500 batches of 100 = the textbook's 10,000 iterations
seed = 0  # fixes the initial weights and the order of the batches
quick = False  # one epoch only: a smoke test, as CI runs the labs

# %%
out = lab_setup("lab11", globals())  # a script's flags replace the values above; out = runs/lab11/<time>

# %% [markdown] lang="en"
# ## The data
# The course file's 50,000 / 10,000 / 10,000 images, each a row of 784 pixels, mapped to [0, 1] as the
# textbook has them (the last cell says why not the course file's [-1, 1]).

# %% [markdown] lang="zh"
# ## 数据
# 课程数据文件中的 50,000 / 10,000 / 10,000 张图片，每张是一行 784 个像素，和书中一样映射到 [0, 1]
# （为什么不用课程数据文件的 [-1, 1]，见最后一个单元格）。

# %%
splits = pixels_in_unit_range(load_course_data(ensure_datafile()))
train_split, valid_split, test_split = splits["train"], splits["valid"], splits["eval"]
print(f"train {train_split[0].shape}, valid {valid_split[0].shape}, test {test_split[0].shape}; "
      f"pixels {train_split[0].min():.0f}..{train_split[0].max():.0f}")

# %% [markdown] lang="en"
# ## The layers: forward and backward
# A batch of $N$ images is a matrix $X$ of shape $[N, 784]$, one image per row. The net computes
#
# $$A = X W_1 + b_1, \qquad H = \max(A, 0), \qquad Z = H W_2 + b_2,$$
# $$p_{nj} = \frac{e^{z_{nj}}}{\sum_k e^{z_{nk}}}, \qquad L = -\frac{1}{N} \sum_n \log p_{n t_n}$$
#
# with $t_n$ the digit of image $n$. Each layer's `backward` is handed $G = \partial L / \partial(\text{its
# output})$, keeps the gradients of its parameters and returns $\partial L / \partial(\text{its input})$:
#
# - affine, $Y = X W + b$: $\;\partial L/\partial W = X^\top G$ (each image's outer product, summed over the
#   batch), $\;\partial L/\partial b = \sum_n G_n$ ($b$ is added to every row), $\;\partial L/\partial X = G W^\top$;
# - ReLU: $\;\partial L/\partial A = G \odot [A > 0]$ (a unit that was off passes no gradient back);
# - softmax and cross-entropy together: $\;\partial L/\partial Z = (P - Y)/N$, with $Y$ the one-hot labels.
#   The two derivatives cancel to "predicted minus true": this is where the backward pass starts.

# %% [markdown] lang="zh"
# ## 各层：正向传播与反向传播
# $N$ 张图片组成的一个 batch 是形状为 $[N, 784]$ 的矩阵 $X$，每行一张图片。网络的计算是
#
# $$A = X W_1 + b_1, \qquad H = \max(A, 0), \qquad Z = H W_2 + b_2,$$
# $$p_{nj} = \frac{e^{z_{nj}}}{\sum_k e^{z_{nk}}}, \qquad L = -\frac{1}{N} \sum_n \log p_{n t_n}$$
#
# 其中 $t_n$ 是第 $n$ 张图片的数字。每一层的 `backward` 接收 $G = \partial L / \partial(\text{本层的输出})$，
# 保存本层参数的梯度，并返回 $\partial L / \partial(\text{本层的输入})$：
#
# - Affine 层，$Y = X W + b$：$\;\partial L/\partial W = X^\top G$（每张图片的外积，在整个 batch 上求和），
#   $\;\partial L/\partial b = \sum_n G_n$（$b$ 加到了每一行上），$\;\partial L/\partial X = G W^\top$；
# - ReLU 层：$\;\partial L/\partial A = G \odot [A > 0]$（正向传播时没有激活的单元，不往回传梯度）；
# - Softmax 和交叉熵误差合在一起（书中的 Softmax-with-Loss 层）：$\;\partial L/\partial Z = (P - Y)/N$，
#   $Y$ 是 one-hot 表示的标签。两个导数相互抵消，只剩下“预测值减真实值”：反向传播就从这里开始。

# %%
class Affine(Layer):
    """y = x W + b: the fully connected layer; x [N, in], W [in, out], b [out], y [N, out]."""

    def __init__(self, fan_in, fan_out, rng, scale, dtype=np.float32):
        super().__init__()
        self.params = {"W": (rng.standard_normal((fan_in, fan_out)) * scale).astype(dtype),
                       "b": np.zeros(fan_out, dtype=dtype)}

    def forward(self, x, training=False):
        self.x = x  # kept for the backward pass: dL/dW needs it
        return x @ self.params["W"] + self.params["b"]

    def backward(self, grad):
        self.grads = {"W": self.x.T @ grad, "b": grad.sum(axis=0)}
        return grad @ self.params["W"].T


class ReLU(Layer):
    """y = max(x, 0), element-wise."""

    def forward(self, x, training=False):
        self.positive = x > 0
        return np.maximum(x, 0)

    def backward(self, grad):
        return grad * self.positive  # the slope is 1 where x > 0, else 0 (0 at the kink, as Paddle takes it)


class SoftmaxCrossEntropy:
    """L = -(1/N) sum_n log p_n[t_n], p = softmax(z), from log-softmax: z - max(z) - log sum e^(z - max(z)),
    so no e^z overflows."""

    def __call__(self, scores, labels):
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.p, self.labels = np.exp(log_p), labels
        return float(-log_p[np.arange(len(labels)), labels].mean())

    def gradient(self):
        grad = self.p.copy()
        grad[np.arange(len(self.labels)), self.labels] -= 1  # P - Y
        return grad / len(self.labels)


# %% [markdown] lang="en"
# ## Backpropagation
# The chain rule, applied from the top: start with $g = \partial L/\partial Z$ from the loss, then each layer
# from the last to the first turns $g$ into the gradient with respect to its input, $g \leftarrow
# \texttt{layer.backward}(g)$, and on the way leaves $\partial L/\partial W$ and $\partial L/\partial b$ in
# its `grads`. One backward pass costs about as much as the forward pass, however many weights there are:
# that is why backpropagation, not one finite difference per weight, trains networks.
# `Network` (from `digits.numpy_nn`) adds `predict`, `accuracy`, `evaluate` and `save` around the two passes.

# %% [markdown] lang="zh"
# ## 误差反向传播法
# 从最上层开始应用链式法则：先从损失得到 $g = \partial L/\partial Z$，然后从最后一层到第一层，每一层把 $g$
# 变成对本层输入的梯度，$g \leftarrow \texttt{layer.backward}(g)$，顺便把 $\partial L/\partial W$ 和
# $\partial L/\partial b$ 留在自己的 `grads` 里。不管有多少个权重，一次反向传播的计算量都和一次正向传播差不多：
# 所以训练神经网络靠的是误差反向传播法，而不是对每个权重各做一次数值微分。
# `Network`（来自 `digits.numpy_nn`）在这两个过程之外加上了 `predict`、`accuracy`、`evaluate` 和 `save`。

# %%
class TwoLayerNet(Network):
    """784 -> hidden -> ReLU -> 10, softmax cross-entropy. Weights start at N(0, 2/fan_in) (He's scale
    for ReLU), biases at 0."""

    def __init__(self, seed=0, hidden=50, dtype=np.float32):
        rng = np.random.default_rng(seed)
        super().__init__([Affine(784, hidden, rng, np.sqrt(2 / 784), dtype), ReLU(),
                          Affine(hidden, 10, rng, np.sqrt(2 / hidden), dtype)], SoftmaxCrossEntropy())

    def forward(self, x, training=False):
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def loss_and_gradients(self, x, labels):
        """The loss of one batch; every parameter's gradient is left in its layer's grads."""
        loss = self.loss(self.forward(x, training=True), labels)
        grad = self.loss.gradient()          # dL/dZ = (P - Y) / N
        for layer in reversed(self.layers):  # the chain rule, from the top
            grad = layer.backward(grad)      # dL/d(the layer's input)
        return loss


# %% [markdown] lang="en"
# The library keeps the same classes in `digits/numpy_nn.py`: its copy, `digits.numpy_nn.mlp([784, 50, 10])`,
# is what labs 11b to 13 build on. From the same seed it must give the same loss and the same gradients, to
# the last bit.

# %% [markdown] lang="zh"
# 共享库在 `digits/numpy_nn.py` 里保存了同样的类：它的副本 `digits.numpy_nn.mlp([784, 50, 10])` 是实验 11b
# 到 13 的基础。随机种子相同时，它必须给出相同的损失和相同的梯度，一位都不能差。

# %%
ours, library = TwoLayerNet(seed), mlp([784, 50, 10], "relu", seed=seed)
x, y = train_split[0][:100], train_split[1][:100]
same = ours.loss_and_gradients(x, y) == library.loss_and_gradients(x, y) and all(
    np.array_equal(a.grads[name], b.grads[name]) for a, b in zip(ours.layers, library.layers) for name in a.grads)
print(f"this lab's TwoLayerNet and digits.numpy_nn.mlp([784, 50, 10]): same loss and gradients: {same}")

# %% [markdown] lang="en"
# ## Gradient check
# Backprop is easy to get subtly wrong, so compare it with the definition of a derivative. For every
# weight $w$, the central difference
#
# $$\frac{\partial L}{\partial w} \approx \frac{L(w + h) - L(w - h)}{2h}, \qquad h = 10^{-6},$$
#
# is off by $O(h^2)$; two forward passes per weight, so only on three images and in float64 (float32's
# 7 digits would drown the difference). The relative error $\|a - b\| / (\|a\| + \|b\|)$ is about $10^{-9}$
# when backprop is right and near 1 when it is not.

# %% [markdown] lang="zh"
# ## 梯度确认（梯度检验）
# 误差反向传播法很容易出一些不易察觉的错，所以要拿它和导数的定义比一比。对每个权重 $w$，中心差分
#
# $$\frac{\partial L}{\partial w} \approx \frac{L(w + h) - L(w - h)}{2h}, \qquad h = 10^{-6},$$
#
# 的误差是 $O(h^2)$；每个权重要做两次正向传播，所以只用三张图片，并且用 float64 计算（float32 只有 7 位
# 有效数字，差值会被舍入误差淹没）。反向传播正确时，相对误差 $\|a - b\| / (\|a\| + \|b\|)$ 约为 $10^{-9}$；
# 不正确时接近 1。

# %%
checked = TwoLayerNet(seed, dtype=np.float64)
errors = gradient_check(checked, train_split[0][:3].astype(np.float64), train_split[1][:3])
print("gradient check, relative error |backprop - numerical| / (|backprop| + |numerical|):")
for name, error in errors.items():
    print(f"  {name:4s} {error:.2e}")

# %% [markdown] lang="en"
# ## The update: stochastic gradient descent
# Each step takes the next shuffled batch of 100 images, whose gradient is a noisy estimate of the whole
# training set's, and moves every parameter a little downhill:
#
# $$w \leftarrow w - \eta \, \frac{\partial L}{\partial w}, \qquad \eta = 0.1.$$

# %% [markdown] lang="zh"
# ## 参数更新：随机梯度下降法
# 每一步取下一个打乱后的 batch（100 张图片），它的梯度是整个训练集梯度的一个带噪声的估计；
# 然后让每个参数沿下坡方向移动一小步：
#
# $$w \leftarrow w - \eta \, \frac{\partial L}{\partial w}, \qquad \eta = 0.1.$$

# %%
class SGD:
    """w <- w - lr dL/dw for every parameter (digits.numpy_nn.SGD adds momentum and a per-epoch decay)."""

    def __init__(self, lr):
        self.lr = lr

    def step(self, network):
        for layer in network.layers:
            for name, grad in layer.grads.items():
                layer.params[name] -= self.lr * grad

    def end_epoch(self):
        pass  # a constant learning rate


# %% [markdown] lang="en"
# ## Training
# `digits.numpy_nn.train` is the NumPy track's loop: per epoch, shuffled batches, `loss_and_gradients` and
# one SGD step each, then the validation loss and accuracy. 20 epochs of the 50,000 training images in
# batches of 100 are the textbook's 10,000 iterations. After each epoch this lab also measures train and
# test accuracy and adds to the two figures below the cell: train and test accuracy per epoch in one; in the
# other the loss, as the mean of every 50 iterations and as the validation loss after each epoch (redrawn as
# the epochs finish, in a notebook; a script saves them as PNGs at the end).

# %% [markdown] lang="zh"
# ## 训练
# `digits.numpy_nn.train` 是 NumPy 篇的训练循环：每一轮把数据打乱、分成 batch，每个 batch 调用一次
# `loss_and_gradients`，走一步 SGD；一轮结束后计算验证集的损失和准确率。50,000 张训练图片、batch 100，
# 训练 20 轮，正好是书中的 10,000 次迭代。本实验还在每轮结束后测量训练集和测试集的准确率，添加到单元格下方的
# 两张图里：一张画每轮的训练集和测试集准确率；另一张画损失，包括每 50 次迭代的平均值和每轮结束后的验证集
# 损失（在笔记本里，每轮结束时重画；作为脚本运行时，结束时保存为 PNG）。

# %%
BATCH, WINDOW = 100, 50  # images per step; iterations per point of the loss curve
network = TwoLayerNet(seed)
steps_per_epoch = batches_per_epoch(len(train_split[0]), BATCH)
window_size = min(WINDOW, steps_per_epoch)  # a window ends with its epoch
loss_curve = LiveCurves("TwoLayerNet: loss", xlabel="iteration (batches)", window=window_size)
accuracy_curve = LiveCurves("TwoLayerNet: accuracy", xlabel="epoch", ylabel="accuracy")


def after_epoch(record):
    """Train and test accuracy on the epoch's line, and the epoch's points on the curves."""
    record["train_accuracy"] = network.accuracy(*train_split)
    record["test_accuracy"] = network.accuracy(*test_split)
    record["note"] = f", train {100 * record['train_accuracy']:.2f}%, test {100 * record['test_accuracy']:.2f}%"
    done, losses = record["epoch"] * steps_per_epoch, record["losses"]  # iterations before this epoch, its losses
    train_label = f"train (mean of {window_size} iterations)"
    for step, loss in enumerate(losses, done + 1):
        loss_curve.add_batch(train_label, step, loss)
    loss_curve.flush(train_label)  # the epoch's last, shorter window
    loss_curve.add("valid (after each epoch)", done + len(losses), record["valid_loss"])
    accuracy_curve.add("train", record["epoch"] + 1, record["train_accuracy"])
    accuracy_curve.add("test", record["epoch"] + 1, record["test_accuracy"])


history = train(network, SGD(0.1), train_split, valid_split, epochs=epochs, batch_size=BATCH, seed=seed,
                after_epoch=after_epoch)
accuracy_curve.save(f"{out}/accuracy.png")
loss_curve.save(f"{out}/loss.png")
iterations = sum(len(r["losses"]) for r in history)
print(f"{iterations} iterations in {sum(r['seconds'] for r in history):.1f}s: test accuracy "
      f"{100 * history[-1]['test_accuracy']:.2f}% (reference ~97%); figures in {out}")
record(out, test_accuracy=history[-1]["test_accuracy"], train_accuracy=history[-1]["train_accuracy"],
       gradient_error=max(errors.values()), same_as_library=same)  # for the lab report


# %% [markdown] lang="en"
# ## How this lab differs from the course
# The course trains its networks in Paddle and never writes a backward pass. This lab follows Saito's
# textbook 深度学习入门 instead: chapter 5's TwoLayerNet, built from Affine, ReLU and Softmax-with-Loss layers,
# with the textbook's hyper-parameters (50 hidden units, SGD at lr 0.1, batch 100, 10,000 iterations). The
# textbook reports a test accuracy of about 97%. Where the lab departs from the textbook:
# - The images are the course file's: 50,000 to train on (so the 10,000 iterations are 20 epochs), 10,000 to
#   validate, 10,000 to test. Each epoch cuts the shuffled training images into batches; the textbook draws
#   every batch at random.
# - The pixels are in [0, 1], as in the textbook, not the course file's [-1, 1]: there every input's mean
#   sits near -0.75, which makes plain SGD at lr 0.1 noisy and leaves it clearly below 97%.
# - The weights start at He's scale for ReLU, `N(0, 2/fan_in)`; the textbook's start at a standard
#   deviation of 0.01.

# %% [markdown] lang="zh"
# ## 与课程的不同
# 课程用 Paddle 训练网络，从不自己写反向传播。本实验照的是斋藤康毅的《深度学习入门》：第 5 章的 TwoLayerNet，
# 由 Affine、ReLU 和 Softmax-with-Loss 层搭成，超参数与书中相同（隐藏层 50 个单元，SGD，学习率 0.1，
# batch 100，迭代 10,000 次）。书中给出的测试集准确率约为 97%。与书中不同的地方：
# - 图片来自课程数据文件：50,000 张用来训练（所以 10,000 次迭代就是 20 轮），10,000 张验证，10,000 张测试。
#   每一轮把训练图片打乱后依次切成 batch；书中每次迭代随机抽取一个 batch。
# - 和书中一样，像素在 [0, 1] 之间，而不是课程数据文件的 [-1, 1]：那样每个输入的均值都在 -0.75 左右，
#   学习率 0.1 的普通 SGD 训练得很不稳定，准确率明显低于 97%。
# - 权重按适合 ReLU 的 He 尺度初始化，`N(0, 2/fan_in)`；书中用标准差 0.01。
