# %% [markdown] lang="en"
# # Lab 14a · Study notes: regression, capacity and regularisation, on synthetic data in Paddle
#
# - **Source:** study notes on regression, capacity and regularisation; not a section of the course.
# - **You build:** regressions fitted by gradient descent in Paddle (one variable, three variables, a
#   polynomial); least-squares polynomials of growing degree; a linear model with an L1 and an L2 penalty.
# - **You will see:** the fitted line and curve against the truth, and the training losses; train error falling
#   with the degree while test error falls, then climbs; L1 zeroing the useless weights, L2 only shrinking them.
#
# As a script: `python labs/14a_regression_and_fitting.py` (`--help` lists its flags).

# %% [markdown] lang="zh"
# # 实验 14a · 学习笔记：回归、模型容量与正则化（合成数据，用 Paddle 实现）
#
# - **来源**：关于回归、模型容量与正则化的学习笔记；不是课程中的章节。
# - **本实验要做的**：用 Paddle 以梯度下降拟合回归模型（一元、三元、多项式）；用最小二乘拟合次数越来越高的
#   多项式；给线性模型分别加上 L1 和 L2 惩罚项。
# - **你会看到**：拟合出的直线和曲线与真实函数的对比，以及训练损失；次数升高时训练误差一直下降，测试误差却
#   先降后升；L1 把无用的权重压到 0，L2 只是把它们缩小。
#
# 作为脚本运行：`python labs/14a_regression_and_fitting.py`（`--help` 列出所有参数）。

# %%
import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
import paddle.nn.functional as F
from digits.lab import lab_setup, record
from digits.plots import LiveCurves, plot_curves
from digits.training import seed_everything

# %% tags=["parameters"]
seed = 0  # fixes the synthetic data (NumPy) and the initial weights (Paddle)
quick = False  # 50 gradient steps per fit instead of 2000: a smoke test, as CI runs the labs

# %%
out = lab_setup("lab14a", globals())  # a script's flags replace the values above; out = runs/lab14a/<time>
steps = 50 if quick else 2000
seed_everything(seed)
rng = np.random.default_rng(seed)

# %% [markdown] lang="en"
# ## 1. Regression by gradient descent
# A linear layer predicts $\hat y = x w + b$ for each row $x$ of the features $X$ $[N, d]$. The cost is the
# mean squared error over the $N$ samples, and its gradient follows from the chain rule:
#
# $$L = \frac{1}{N}\sum_n (\hat y_n - y_n)^2, \qquad \frac{\partial L}{\partial w} = \frac{2}{N} X^\top
# (\hat y - y), \qquad \frac{\partial L}{\partial b} = \frac{2}{N}\sum_n (\hat y_n - y_n).$$
#
# Full-batch gradient descent repeats $w \leftarrow w - \eta\, \partial L/\partial w$ (and the same for $b$):
# `loss.backward()` computes the gradients, `optimizer.step()` takes the step. A polynomial is the same linear
# layer on the features $x, x^2, x^3$: linear in its coefficients, so nothing else changes. A `regularizer`
# adds its own term to each gradient (section 3).

# %% [markdown] lang="zh"
# ## 1. 用梯度下降做回归
# 线性层对特征矩阵 $X$ $[N, d]$ 的每一行 $x$ 给出预测 $\hat y = x w + b$。代价是 $N$ 个样本上的均方误差，
# 它的梯度由链式法则得到：
#
# $$L = \frac{1}{N}\sum_n (\hat y_n - y_n)^2, \qquad \frac{\partial L}{\partial w} = \frac{2}{N} X^\top
# (\hat y - y), \qquad \frac{\partial L}{\partial b} = \frac{2}{N}\sum_n (\hat y_n - y_n).$$
#
# 全批量梯度下降反复执行 $w \leftarrow w - \eta\, \partial L/\partial w$（$b$ 也一样）：`loss.backward()`
# 计算梯度，`optimizer.step()` 更新一步。多项式回归就是把同一个线性层接在特征 $x, x^2, x^3$ 上：
# 模型对系数仍是线性的，所以别的什么都不用改。`regularizer` 会在每个梯度上加上它自己的一项（见第 3 节）。

# %%
def fit_linear(features, targets, steps, lr=0.1, regularizer=None, live=None, label=None):
    """A Paddle Linear layer fitted to (features, targets) by full-batch gradient descent on the MSE;
    returns the layer and its loss at every step (also drawn on `live`, if given, as `label`)."""
    layer = paddle.nn.Linear(features.shape[1], 1)
    optimizer = paddle.optimizer.SGD(learning_rate=lr, parameters=layer.parameters(), weight_decay=regularizer)
    x, y, losses = paddle.to_tensor(features), paddle.to_tensor(targets), []
    for _ in range(steps):
        loss = F.mse_loss(layer(x), y)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
        losses.append(float(loss))
        if live:
            live.add(label, len(losses), losses[-1])
    return layer, losses


def listed(values):
    return "[" + ", ".join(f"{v:.3f}" for v in values) + "]"


# %% [markdown] lang="en"
# The three fits, one after the other: a noisy line $y = 2x + 1$; three variables; and the cubic $x^3 - x$
# as a linear layer on the features $x, x^2, x^3$. The figure below the cell draws their training loss per
# step, as they train.

# %% [markdown] lang="zh"
# 依次做三次拟合：带噪声的直线 $y = 2x + 1$；三元回归；以及三次函数 $x^3 - x$，即在特征 $x, x^2, x^3$ 上
# 接一个线性层。单元格下方的图边训练边画出它们每一步的训练损失。

# %%
live = LiveCurves("training loss of the three regressions", xlabel="step", ylabel="MSE", logy=True)

x = rng.uniform(-1, 1, (100, 1)).astype(np.float32)
y = (2 * x + 1 + rng.normal(0, 0.1, x.shape)).astype(np.float32)
line_layer, losses = fit_linear(x, y, steps, live=live, label="one variable")
print(f"one variable: y = {line_layer.weight.item():.3f} x + {line_layer.bias.item():.3f} (truth 2x + 1), "
      f"MSE {losses[-1]:.4f}")

true_w = np.array([[1.5], [-2.0], [0.5]], dtype=np.float32)
X = rng.normal(0, 1, (200, 3)).astype(np.float32)
targets = (X @ true_w + 0.3 + rng.normal(0, 0.1, (200, 1))).astype(np.float32)
layer, losses = fit_linear(X, targets, steps, live=live, label="three variables")
print(f"three variables: w = {listed(layer.weight.numpy()[:, 0])} (truth {true_w[:, 0].tolist()}), "
      f"b = {layer.bias.item():.3f} (truth 0.3), MSE {losses[-1]:.4f}")
three_variable_error = max(np.abs(layer.weight.numpy()[:, 0] - true_w[:, 0]).max(), abs(layer.bias.item() - 0.3))

cubic = (x ** 3 - x + rng.normal(0, 0.05, x.shape)).astype(np.float32)
powers = np.hstack([x, x ** 2, x ** 3])
cubic_layer, losses = fit_linear(powers, cubic, steps * 5, lr=0.3, live=live, label="polynomial")
print(f"polynomial: coefficients of x, x^2, x^3 = {listed(cubic_layer.weight.numpy()[:, 0])} "
      f"(truth [-1, 0, 1]), MSE {losses[-1]:.4f}")
live.save(f"{out}/regression_losses.png")

# %% [markdown] lang="en"
# The fitted line and cubic against the truth.

# %% [markdown] lang="zh"
# 拟合得到的直线和三次曲线，与真实函数对比。

# %%
line = np.linspace(-1, 1, 50, dtype=np.float32)[:, None]
xs = line[:, 0]
one_variable = {"fit": (xs, line_layer(paddle.to_tensor(line)).numpy()[:, 0]), "truth 2x+1": (xs, 2 * xs + 1)}
polynomial = {"fit": (xs, cubic_layer(paddle.to_tensor(np.hstack([line, line ** 2, line ** 3]))).numpy()[:, 0]),
              "truth x^3 - x": (xs, xs ** 3 - xs)}
for name, curves, title in (("one_variable", one_variable, "one-variable regression"),
                            ("polynomial", polynomial, "polynomial regression")):
    plot_curves(curves, f"{out}/{name}.png", title, xlabel="x", ylabel="y")

# %% [markdown] lang="en"
# ## 2. Capacity: under- and over-fitting
# A polynomial of degree $D$, $\hat y(t) = \sum_{i=0}^{D} c_i t^i$, is a linear model on the columns $1, t,
# \ldots, t^D$ of the design matrix $V$; least squares gives the coefficients that minimise $\|V c - y\|^2$
# in one solve (`paddle.linalg.lstsq`), no gradient steps. With 15 training points, degree 14 could pass
# through every one of them: the train error only falls as $D$ grows, the test error on 200 fresh points
# tells whether the curve learned the sine or the noise. In the figure, the train error keeps falling while
# the test error falls, then climbs: under-fitting on the left, over-fitting on the right.

# %% [markdown] lang="zh"
# ## 2. 模型容量：欠拟合与过拟合
# $D$ 次多项式 $\hat y(t) = \sum_{i=0}^{D} c_i t^i$ 是一个线性模型，输入是设计矩阵 $V$ 的各列
# $1, t, \ldots, t^D$；最小二乘一次求解（`paddle.linalg.lstsq`）就得到使 $\|V c - y\|^2$ 最小的系数，
# 不需要梯度下降。只有 15 个训练点时，14 次多项式可以穿过其中每一个点：$D$ 越大，训练误差只会越小；
# 在 200 个新点上的测试误差才能说明，曲线学到的是正弦函数还是噪声。图中训练误差一直下降，测试误差却先降后升：
# 左边欠拟合，右边过拟合。

# %%
def sample(count):
    t = rng.uniform(0, 1, count)
    return t, np.sin(2 * np.pi * t) + rng.normal(0, 0.2, count)


(t_train, y_train), (t_test, y_test) = sample(15), sample(200)
degrees, errors = list(range(13)), {"train": [], "test": []}
for degree in degrees:
    def design(t):
        return paddle.to_tensor(np.vander(t, degree + 1, increasing=True))
    coefficients = paddle.linalg.lstsq(design(t_train), paddle.to_tensor(y_train[:, None]))[0]
    for split, t, target in (("train", t_train, y_train), ("test", t_test, y_test)):
        errors[split].append(float(np.mean(((design(t) @ coefficients).numpy()[:, 0] - target) ** 2)))
plot_curves({split: (degrees, values) for split, values in errors.items()}, f"{out}/under_over_fitting.png",
            "polynomial degree vs error", xlabel="degree", ylabel="MSE", logy=True)
best = int(np.argmin(errors["test"]))
print(f"capacity: test MSE is lowest at degree {best} ({errors['test'][best]:.3f}); degree 12 fits the 15 train "
      f"points to MSE {errors['train'][12]:.4f} but tests at {errors['test'][12]:.1f}")

# %% [markdown] lang="en"
# ## 3. L1 vs L2
# A penalty on the weights adds its derivative to every gradient step:
#
# - L2, $\frac{\lambda}{2}\sum w^2$ (`L2Decay`): $+\lambda w$, a pull towards 0 proportional to the weight, so
#   a small weight gets a small pull and never quite reaches 0;
# - L1, $\lambda \sum |w|$ (`L1Decay`): $+\lambda\,\mathrm{sign}(w)$, the same pull however small the weight,
#   so a weight the data does not hold up is driven to (around) 0: a sparse model.
#
# 40 features, of which only the first 4 set the target.

# %% [markdown] lang="zh"
# ## 3. L1 与 L2
# 权重上的惩罚项会把它的导数加到每一步的梯度上：
#
# - L2，$\frac{\lambda}{2}\sum w^2$（`L2Decay`）：加上 $+\lambda w$，即一个把权重拉向 0、大小与权重成正比的力；
#   权重小，拉力也小，所以权重永远到不了 0；
# - L1，$\lambda \sum |w|$（`L1Decay`）：加上 $+\lambda\,\mathrm{sign}(w)$，不管权重多小，拉力都一样大，
#   所以数据不支持的权重会被压到 0（附近）：得到稀疏模型。
#
# 40 个特征中，只有前 4 个决定目标值。

# %%
sparse_w = np.zeros((40, 1), dtype=np.float32)
sparse_w[:4, 0] = [3.0, -2.0, 1.5, 1.0]
X = rng.normal(0, 1, (100, 40)).astype(np.float32)
y = (X @ sparse_w + rng.normal(0, 0.1, (100, 1))).astype(np.float32)
zeroed = {}  # regulariser: how many of the 36 useless weights end below 0.01
for name, regularizer in (("L1", paddle.regularizer.L1Decay(0.05)), ("L2", paddle.regularizer.L2Decay(0.05))):
    layer, _ = fit_linear(X, y, steps, lr=0.05, regularizer=regularizer)
    weights = layer.weight.numpy()[:, 0]
    zeroed[name] = int(np.sum(np.abs(weights[4:]) < 1e-2))
    print(f"{name}: {zeroed[name]} of the 36 useless weights below 0.01 "
          f"(largest {np.abs(weights[4:]).max():.3f}); useful weights {listed(weights[:4])}")
coefficient_error = max(abs(line_layer.weight.item() - 2), abs(line_layer.bias.item() - 1), three_variable_error,
                        np.abs(cubic_layer.weight.numpy()[:, 0] - [-1, 0, 1]).max())
record(out, coefficient_error=coefficient_error, best_degree=best, degree12_train_mse=errors["train"][12],
       degree12_test_mse=errors["test"][12], l1_zeroed=zeroed["L1"], l2_zeroed=zeroed["L2"])  # for the lab report


# %% [markdown] lang="en"
# ## How this lab differs from the course
# The course's chapter meets these ideas on MNIST: it regresses the digit's value (labs 00 to 03) and adds L2
# decay and dropout in 【手写数字识别】之训练调试与优化 (lab 07). This lab follows study notes instead, which
# take them one at a time on synthetic data, where the truth is known: a line, three variables, a cubic, a
# sine, a target that only 4 of 40 features set. Everything is fitted with Paddle, apart from the
# least-squares polynomials of section 2, which are one solve (`paddle.linalg.lstsq`) rather than gradient
# steps.

# %% [markdown] lang="zh"
# ## 与课程的不同
# 课程这一章是在 MNIST 上接触这些概念的：把数字的值当作回归目标（实验 00 到 03），并在【手写数字识别】之训练调试
# 与优化中加上 L2 正则和 Dropout（实验 07）。本实验照的是学习笔记，在真实函数已知的合成数据上逐个讲解：一条
# 直线、三个变量、一个三次函数、一个正弦函数，以及 40 个特征中只有 4 个决定目标值的数据。全部用 Paddle 拟合；
# 只有第 2 节的最小二乘多项式是一次求解（`paddle.linalg.lstsq`），不用梯度下降。
