# %% [markdown] lang="en"
# # Lab 13 · NumPy track: designing a feed-forward network: how many hidden layers, how wide
#
# The design lab's network: sigmoid units, the cross-entropy cost of one sigmoid per digit against the
# one-hot label, L2 regularisation (lambda 5 over n = 50,000 images, i.e. 1e-4 on the batch-mean cost), the
# 50k/10k/10k split, pixels in [0, 1] as the network is designed for. After each epoch the network is scored
# on validation, and on test only when validation accuracy sets a new best (the lab prints which epochs did).
#
# 1. The reference 784-30-10, batch 10, 30 epochs, at the lab's fixed learning rate 0.01 and at 0.5, the
#    better-tuned rate (in 3-epoch trials 0.5 beat 0.1 at batch 10, and tied with 2 at batch 50).
# 2. A sweep over k = 1, 2, 3 hidden layers of m = 16, 32, 64, 128 sigmoid units (lr 0.5, batch 50, 10
#    epochs), in NumPy and in Paddle; validation accuracy against m for each k, and the best (k, m). The grid
#    is sized to a budget of 15 minutes for the whole lab on 2 shared cores.
#
# References: the report's NumPy 784-30-10 reached 94.3% (30 epochs, eta 1.3, lambda 0.1, 79 s); a classic
# NumPy network of this kind ~95% (quadratic cost) and ~98% (cross-entropy + L2, 100 hidden units).
#
# As a script: `python labs/13_feedforward_design.py` (`--help` lists its flags).

# %% [markdown] lang="zh"
# # 实验 13 · NumPy 篇：设计前馈神经网络：几个隐藏层，每层多宽
#
# 网络沿用设计实验中的网络：sigmoid 单元；代价函数用交叉熵，每个数字一个 sigmoid，与 one-hot 标签比较；
# L2 正则化（lambda 5，除以 n = 50,000 张图片，即在 batch 平均代价上取 1e-4）；50k/10k/10k 的数据划分；
# 像素在 [0, 1] 之间，网络就是按这个范围设计的。每轮结束后在验证集上评分，只有验证集准确率创新高时才在
# 测试集上评分（实验会打印是哪几轮）。
#
# 1. 参考网络 784-30-10，batch 10，训练 30 轮，学习率分别取原实验固定的 0.01 和调得更好的 0.5
#    （在 3 轮的试验中，batch 10 时 0.5 胜过 0.1，batch 50 时与 2 持平）。
# 2. 扫描 k = 1, 2, 3 个隐藏层、每层 m = 16, 32, 64, 128 个 sigmoid 单元（学习率 0.5，batch 50，训练 10 轮），
#    NumPy 和 Paddle 各做一遍；对每个 k 画出验证集准确率随 m 的变化，并找出最好的 (k, m)。网格的大小按
#    整个实验在 2 个共享核心上用 15 分钟的预算来定。
#
# 参考结果：报告中 NumPy 实现的 784-30-10 达到 94.3%（30 轮，eta 1.3，lambda 0.1，79 s）；这类经典的 NumPy
# 网络约为 ~95%（二次代价函数）和 ~98%（交叉熵 + L2，100 个隐藏单元）。
#
# 作为脚本运行：`python labs/13_feedforward_design.py`（`--help` 列出所有参数）。

# %%
import digits  # noqa: F401  (first: BLAS threads for NumPy, quiet logs for Paddle)
import time

from digits.data import load_course_data
from digits.lab import lab_setup, record
from digits.numpy_nn import SGD, mlp, pixels_in_unit_range, train
from digits.plots import LiveCurves
from digits.prepare import ensure_datafile
from digits.training import TrainConfig, fit
from models import build_model

# %% tags=["parameters"]
epochs = 30  # epochs of the reference 784-30-10 runs
seed = 0  # fixes the initial weights and the order of the batches
sweep_epochs = 10  # epochs per sweep point
quick = False  # one epoch for everything: a smoke test, as CI runs the labs

# %%
out = lab_setup("lab13", globals())  # a script's flags replace the values above; out = runs/lab13/<time>
if quick:
    sweep_epochs = 1
datafile = ensure_datafile()
splits = pixels_in_unit_range(load_course_data(datafile))

# %% [markdown] lang="en"
# ## The network: sigmoid units, cross-entropy, L2
# Each layer computes $z^l = a^{l-1} W^l + b^l$ and $a^l = \sigma(z^l)$, $\sigma(z) = 1/(1 + e^{-z})$, for every
# layer up to the ten outputs, one per digit. The cost of a batch of $N$ images, $y$ the one-hot label, with
# the L2 penalty on the weights (not the biases):
#
# $$C = -\frac{1}{N}\sum_n \sum_j \big[y_{nj} \ln a_{nj} + (1 - y_{nj}) \ln(1 - a_{nj})\big]
#       + \frac{\lambda}{2n} \sum_w w^2, \qquad \frac{\lambda}{n} = \frac{5}{50\,000} = 10^{-4}.$$
#
# Backward: at the output the sigmoid's derivative cancels against the cost's, $\delta^L = \partial
# C/\partial z^L = (a^L - y)/N$: no $\sigma'(z)$ factor is left to vanish when a unit is confidently wrong,
# which is why this cost learns faster than the quadratic one. Further down, $\delta^l = (\delta^{l+1}
# W^{l+1\top}) \odot a^l (1 - a^l)$; then $\partial C/\partial W^l = a^{l-1\top} \delta^l + \frac{\lambda}{n}
# W^l$ and $\partial C/\partial b^l = \sum_n \delta^l_n$. The update,
#
# $$W \leftarrow W - \eta\Big(\frac{\partial C_0}{\partial W} + \frac{\lambda}{n} W\Big)
#      = \Big(1 - \frac{\eta\lambda}{n}\Big) W - \eta \frac{\partial C_0}{\partial W},$$
#
# shrinks every weight a little at each step (weight decay) before the data's gradient moves it.
# `digits.numpy_nn.mlp(..., "sigmoid", loss="sigmoid_ce", l2=...)` builds it from layers that compute
# exactly these (`Sigmoid`, `SigmoidCrossEntropy`, and `Network`'s penalty).

# %% [markdown] lang="zh"
# ## 网络：sigmoid 单元、交叉熵、L2
# 每一层计算 $z^l = a^{l-1} W^l + b^l$ 和 $a^l = \sigma(z^l)$，$\sigma(z) = 1/(1 + e^{-z})$，一直到十个输出，
# 每个数字一个。对 $N$ 张图片组成的 batch，$y$ 是 one-hot 标签，代价加上对权重（不含偏置）的 L2 惩罚项：
#
# $$C = -\frac{1}{N}\sum_n \sum_j \big[y_{nj} \ln a_{nj} + (1 - y_{nj}) \ln(1 - a_{nj})\big]
#       + \frac{\lambda}{2n} \sum_w w^2, \qquad \frac{\lambda}{n} = \frac{5}{50\,000} = 10^{-4}.$$
#
# 反向传播：在输出层，sigmoid 的导数和代价的导数相互抵消，$\delta^L = \partial C/\partial z^L = (a^L - y)/N$：
# 没有留下 $\sigma'(z)$ 因子，所以单元很有把握地出错时，梯度不会消失，这就是这种代价函数比二次代价函数
# 学得快的原因。再往下，$\delta^l = (\delta^{l+1} W^{l+1\top}) \odot a^l (1 - a^l)$；然后
# $\partial C/\partial W^l = a^{l-1\top} \delta^l + \frac{\lambda}{n} W^l$，$\partial C/\partial b^l = \sum_n \delta^l_n$。
# 参数更新
#
# $$W \leftarrow W - \eta\Big(\frac{\partial C_0}{\partial W} + \frac{\lambda}{n} W\Big)
#      = \Big(1 - \frac{\eta\lambda}{n}\Big) W - \eta \frac{\partial C_0}{\partial W},$$
#
# 每一步先让每个权重缩小一点（权重衰减），再按数据的梯度移动它。
# `digits.numpy_nn.mlp(..., "sigmoid", loss="sigmoid_ce", l2=...)` 用正好计算这些量的各层搭出这个网络
# （`Sigmoid`、`SigmoidCrossEntropy`，以及 `Network` 的惩罚项）。

# %%
L2 = 5.0 / 50_000
FIXED_LR, TUNED_LR = 0.01, 0.5
DEPTHS, WIDTHS = (1, 2, 3), (16, 32, 64, 128)


def sigmoid_net(hidden):
    """784 -> hidden... -> 10, sigmoid units, one sigmoid per digit against the one-hot label, L2."""
    return mlp([784, *hidden, 10], "sigmoid", loss="sigmoid_ce", l2=L2, seed=seed)


# %% [markdown] lang="en"
# ## 1. The reference 784-30-10 at two learning rates
# Batch 10. The test set is scored only after an epoch that sets a new best validation accuracy, so the test
# accuracy reported is that of the epoch validation would pick. The figure below the cell draws both runs'
# validation accuracy after every epoch.

# %% [markdown] lang="zh"
# ## 1. 参考网络 784-30-10，两种学习率
# batch 10。只有在验证集准确率创新高的那一轮之后，才在测试集上评分，所以报告的测试集准确率就是按验证集
# 挑出的那一轮的准确率。单元格下方的图画出两次运行每轮结束后的验证集准确率。

# %%
reference = LiveCurves("784-30-10, batch 10: validation accuracy", xlabel="epoch", ylabel="validation accuracy")
reference_test = {}  # lr: the test accuracy of the best validation epoch
for lr in (FIXED_LR, TUNED_LR):
    print(f"--- 784-30-10, lr {lr}, batch 10, {epochs} epochs")
    network = sigmoid_net([30])
    best, tested = {"valid": 0.0}, []

    def test_on_new_best(record):
        reference.add(f"lr {lr}", record["epoch"], record["valid_accuracy"])
        if record["valid_accuracy"] > best["valid"]:
            best.update(valid=record["valid_accuracy"], test=network.accuracy(*splits["eval"]))
            tested.append(record["epoch"])
            record["note"] = f"  new best: test accuracy {100 * best['test']:.2f}%"

    started = time.perf_counter()
    train(network, SGD(lr), splits["train"], splits["valid"], epochs=epochs, batch_size=10, seed=seed,
          after_epoch=test_on_new_best)
    print(f"lr {lr}: best valid {100 * best['valid']:.2f}%, its test accuracy {100 * best['test']:.2f}%, "
          f"test evaluated after epochs {tested}; {time.perf_counter() - started:.0f}s")
    reference_test[lr] = best["test"]
reference.save(f"{out}/reference_valid_accuracy.png")

# %% [markdown] lang="en"
# ## 2. How many hidden layers, how wide
# Each sweep point trains a net of $k$ hidden layers of $m$ units for the sweep's epochs at the tuned rate,
# batch 50, and reports its final validation accuracy. In NumPy the net is `sigmoid_net`; in Paddle the
# same design (`models/sigmoid_mlp.py`) trains through the shared loop `digits.training.fit`, whose own loss
# curves show below the cell for each point. The figure of validation accuracy against $m$ fills in as the
# points finish.

# %% [markdown] lang="zh"
# ## 2. 几个隐藏层，每层多宽
# 每个扫描点训练一个有 $k$ 个隐藏层、每层 $m$ 个单元的网络，用调好的学习率、batch 50 训练扫描规定的轮数，
# 报告最后的验证集准确率。NumPy 里的网络是 `sigmoid_net`；Paddle 里同样设计的网络（`models/sigmoid_mlp.py`）
# 通过共享的训练循环 `digits.training.fit` 训练，每个点的损失曲线都显示在单元格下方。验证集准确率随 $m$
# 变化的图，随着各点完成逐步画出。

# %%
def sweep_point(framework, depth, width, epochs):
    """Validation accuracy of a k-hidden-layer sigmoid net after `epochs` at the tuned lr, batch 50.
    Paddle reads the course file through the shared loop; its model maps the pixels to [0, 1] itself.
    (Paddle's weight decay also shrinks the biases, NumPy's only the weights: a negligible difference.)"""
    if framework == "numpy":
        network = sigmoid_net([width] * depth)
        return train(network, SGD(TUNED_LR), splits["train"], splits["valid"], epochs=epochs, batch_size=50,
                     seed=seed)[-1]["valid_accuracy"]
    config = TrainConfig(model="sigmoid_mlp", loss="sigmoid_ce", optimizer="sgd", lr=TUNED_LR, weight_decay=L2,
                         epochs=epochs, batch_size=50, seed=seed, log_interval=10**6, data=datafile,
                         out=f"{out}/paddle-k{depth}-m{width}")
    pixel_range = load_course_data(datafile).pixel_range
    network = lambda: build_model("sigmoid_mlp", 10, hidden=[width] * depth, input_range=pixel_range)  # noqa: E731
    return fit(config, network).epochs[-1]["valid_accuracy"]


# %%
sweep = LiveCurves("validation accuracy vs hidden width", xlabel="m, units per hidden layer",
                   ylabel="validation accuracy")
best_points = {}
for framework in ("numpy", "paddle"):
    started = time.perf_counter()
    for depth in DEPTHS:
        for width in WIDTHS:
            best_points[framework, depth, width] = sweep_point(framework, depth, width, sweep_epochs)
            sweep.add(f"{framework}, k={depth}", width, best_points[framework, depth, width])
    print(f"{framework} sweep: {len(DEPTHS) * len(WIDTHS)} networks in {time.perf_counter() - started:.0f}s")
sweep.save(f"{out}/valid_accuracy_vs_width.png")

# %% [markdown] lang="en"
# ## The sweep's table
# Validation accuracy per (k, m), and the best design in each framework.

# %% [markdown] lang="zh"
# ## 扫描结果汇总表
# 每个 (k, m) 的验证集准确率，以及每个框架中最好的设计。

# %%
print(f"{'':8s}" + "".join(f"{f'm={w}':>9s}" for w in WIDTHS))
best_design = {}  # framework: (k, m, valid accuracy)
for framework in ("numpy", "paddle"):
    for depth in DEPTHS:
        print(f"{framework[:6]} k={depth}" + "".join(f"{100 * best_points[framework, depth, w]:8.2f}%" for w in WIDTHS))
    (_, k, m), accuracy = max(((key, a) for key, a in best_points.items() if key[0] == framework), key=lambda p: p[1])
    print(f"best for {framework}: k={k}, m={m}, valid accuracy {100 * accuracy:.2f}%")
    best_design[framework] = k, m, accuracy
record(out, test_lr_fixed=reference_test[FIXED_LR], test_lr_tuned=reference_test[TUNED_LR],
       numpy_best_k=best_design["numpy"][0], numpy_best_m=best_design["numpy"][1],
       numpy_best_valid=best_design["numpy"][2], paddle_best_k=best_design["paddle"][0],
       paddle_best_m=best_design["paddle"][1], paddle_best_valid=best_design["paddle"][2])  # for the lab report
