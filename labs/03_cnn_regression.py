# %% [markdown] lang="en"
# # Lab 03 · 网络结构 (CNN): a convolutional network for the same task, and when it beats the MLP
#
# Course section: 【手写数字识别】之网络结构 (the CNN half). The course's CNN: conv 20@5x5 -> relu ->
# max-pool 2, twice, then `Linear(980, 1)`, trained exactly like lab 02's MLP (MSE, SGD 0.01, batch 100,
# 10 epochs). The course shows its loss falling from ~29 to ~1.0 and says it falls faster and ends
# lower than the MLP's. From this lab on, training runs in the shared loop, `digits.training.fit`: its
# `train_step()` is lab 02's five lines, and `fit()` swaps the `Conv2D` layers below for oneDNN's faster
# ones from outside (`digits.onednn.accelerate`), so the class stays the course's.
#
# 1. Regression, as the course. The course's setting is fragile: at the first steps the error is large
#    (the net predicts ~0 for digits averaging 4.5) and the last layer's 980 inputs are large, so one SGD
#    step moves the output by about `2 * lr * error * |features|^2`, many times the error itself. The
#    output overshoots, gradients explode, and conv2's ReLUs can all die: the net then outputs a
#    constant, the mean label, and the loss sits at the label variance, 8.3. Whether it happens depends
#    on the seed. The principled cure is to make the first steps small while the error is large: a
#    learning-rate warm-up (0 -> 0.01 over the first epoch, then the course's constant rate, Goyal et
#    al. 2017). With it the CNN learns for every seed and ends below the MLP, as the course says.
# 2. The comparison where the CNN's advantage is real: the same MLP and CNN trained as classifiers
#    (softmax cross-entropy, lab 04's topic), loss and accuracy curves in one figure.
#
# **Deviations from the course.** The warm-up run is added beside the course's setting, and part 2 is new
# (the course compares the two only as regressions).
#
# As a script: `python labs/03_cnn_regression.py` (`--help` lists its flags; `--seeds 0 1 2` runs the
# full study).

# %% [markdown] lang="zh"
# # 实验 03 · 网络结构（CNN）：同一任务换成卷积网络，以及它什么时候胜过 MLP
#
# 对应课程章节：【手写数字识别】之网络结构（后半部分，卷积神经网络）。课程的 CNN：卷积 20@5x5 -> relu
# -> 最大池化 2，重复两次，再接 `Linear(980, 1)`；训练方式与实验 02 的 MLP 完全相同（均方误差，
# SGD 0.01，batch 100，10 轮）。课程给出的损失从约 29 降到约 1.0，并指出它比 MLP 下降得更快、
# 最终更低。从本实验开始，训练在共享的训练循环 `digits.training.fit` 中进行：其中的 `train_step()`
# 就是实验 02 的那五行；`fit()` 还会从外部把下面的 `Conv2D` 层换成 oneDNN 更快的实现
# （`digits.onednn.accelerate`），所以类本身仍与课程一致。
#
# 1. 按课程的做法做回归。课程的设置很脆弱：最初几步误差很大（数字的平均值是 4.5，网络却预测约 0），
#    而最后一层的 980 个输入又很大，于是 SGD 一步就让输出变化约 `2 * lr * error * |features|^2`，
#    是误差本身的许多倍。输出冲过了头，梯度爆炸，conv2 的 ReLU 可能全部死亡：此后网络只输出一个
#    常数，即平均标签，损失停在标签的方差 8.3。会不会这样，取决于随机种子。治本的办法是在误差大的
#    时候让最初几步走得小一些，也就是学习率预热（第一轮内从 0 升到 0.01，之后用课程的恒定学习率，
#    Goyal et al. 2017）。加上预热后，每个随机种子下 CNN 都能学起来，最终损失低于 MLP，与课程说的一样。
# 2. CNN 真正占优的比较：把同样的 MLP 和 CNN 当作分类器训练（softmax 交叉熵，实验 04 的主题），
#    损失曲线和准确率曲线放在一起看。
#
# **与课程的不同。** 在课程的设置旁边增加了带预热的训练；第 2 部分是新增的（课程只在回归任务上
# 比较这两个网络）。
#
# 作为脚本运行：`python labs/03_cnn_regression.py`（`--help` 列出所有参数；`--seeds 0 1 2` 运行
# 完整的对比实验）。

# %%
from dataclasses import replace

import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
import paddle.nn.functional as F
from digits.data import IMAGE, load_course_data
from digits.errors import UserError
from digits.lab import lab_setup, record
from digits.plots import plot_curves, plot_runs
from digits.training import TrainConfig, fit
from models.linear import LinearRegressor
from models.mlp import MLP   # lab 02's MLP, kept in the library

# %% tags=["parameters"]
epochs = 10  # passes over the training set (the course's 10; the classifiers in part 2 train half as many)
seed = 0  # fixes Python, NumPy (the loader's shuffle) and Paddle (the initial weights)
seeds = []  # seeds of the CNN regressions, e.g. [0, 1, 2] (a script: --seeds 0 1 2) for the full study; []: seed
onednn = True  # run the conv layers on oneDNN's kernels; False: Paddle's own, as the course ran them
quick = False  # one epoch only: a smoke test, as CI runs the labs

# %%
out = lab_setup("lab03", globals())  # a script's flags replace the values above; out = runs/lab03/<time>
seeds = [int(s) for s in seeds] or [seed]  # a script's --seeds arrive as text

# %% [markdown] lang="en"
# ## The network
# Two stages of convolution, ReLU and max-pooling, then one linear layer. Each 5x5 convolution looks at
# a small patch of the image and is slid over all of it, so the same stroke detector works anywhere in
# the digit, with 20 filters per layer. Padding 2 keeps 28x28; each pooling halves it (28 -> 14 -> 7), so
# the last layer sees 20 channels x 7 x 7 = 980 features. Unlike lab 02's MLP, the network knows which
# pixels are neighbours.

# %% [markdown] lang="zh"
# ## 网络结构
# 两级“卷积、ReLU、最大池化”，再接一个线性层。每个 5x5 卷积只看图像中的一小块，在整张图上滑动，
# 所以同一个笔画检测器在数字的任何位置都起作用；每层有 20 个卷积核。padding 为 2，尺寸保持 28x28；
# 每次池化把尺寸减半（28 -> 14 -> 7），所以最后一层看到的是 20 个通道 x 7 x 7 = 980 个特征。
# 与实验 02 的 MLP 不同，这个网络知道哪些像素是相邻的。

# %%
class CNN(paddle.nn.Layer):
    """The course's network: two conv + max-pool stages, then one linear layer (1 output: regression).
    models/cnn.py keeps this same class for train.py and the later labs."""
    input_shape = IMAGE   # what the loader gives it: [B, 1, 28, 28]

    def __init__(self, num_outputs=1):
        super().__init__()
        self.conv1 = paddle.nn.Conv2D(in_channels=1, out_channels=20, kernel_size=5, stride=1, padding=2)
        self.pool1 = paddle.nn.MaxPool2D(kernel_size=2, stride=2)
        self.conv2 = paddle.nn.Conv2D(in_channels=20, out_channels=20, kernel_size=5, stride=1, padding=2)
        self.pool2 = paddle.nn.MaxPool2D(kernel_size=2, stride=2)
        self.fc = paddle.nn.Linear(in_features=980, out_features=num_outputs)

    def forward(self, inputs):
        x = self.conv1(inputs)
        x = F.relu(x)
        x = self.pool1(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = self.pool2(x)
        x = paddle.reshape(x, [x.shape[0], 980])
        return self.fc(x)


# %% [markdown] lang="en"
# ## The course's setting, in the shared loop
# A `TrainConfig` holds what lab 02 wrote by hand: the loss, the optimizer, its learning rate, the
# epochs. `fit(config, make_model)` seeds, builds the model, runs lab 02's loop, prints the loss every
# `log_interval` batches, evaluates on the valid images after each epoch and on the test images at the
# end, and keeps everything in a run folder. The curve below each run is drawn as it trains.

# %% [markdown] lang="zh"
# ## 在共享训练循环中使用课程的设置
# `TrainConfig` 保存实验 02 里手写的那些东西：损失函数、优化器、学习率、训练轮数。
# `fit(config, make_model)` 设置随机种子，构建模型，运行实验 02 的训练循环，每 `log_interval` 个
# batch 打印一次损失，每轮结束后在验证集图片上评估，最后在测试集图片上评估，所有结果都保存在一个
# 运行文件夹里。每次训练下方的曲线随训练实时绘制。

# %%
course = TrainConfig(loss="mse", optimizer="sgd", lr=0.01, epochs=epochs, seed=seeds[0], log_interval=200)

# %% [markdown] lang="en"
# ## 1. Regression: the linear model and the MLP
# The baselines first. The linear model is lab 00's: its 784 inputs make `2 * lr * |x|^2` about 16 at
# lr 0.01, so every step would overshoot by far and it diverges; at 0.001 it learns. The MLP is lab 02's.

# %% [markdown] lang="zh"
# ## 1. 回归：线性模型和 MLP
# 先看基线。线性模型就是实验 00 的那个：它有 784 个输入，学习率为 0.01 时 `2 * lr * |x|^2` 约为 16，
# 每一步都会远远冲过头，于是发散；学习率为 0.001 时它能学起来。MLP 是实验 02 的。

# %%
linear = fit(replace(course, model="linear", lr=0.001, out=f"{out}/linear"), lambda: LinearRegressor(1))
mlp = fit(replace(course, model="mlp", out=f"{out}/mlp"), lambda: MLP(1))

# %% [markdown] lang="en"
# ## Dead channels
# A ReLU outputs 0 for every negative input and passes no gradient there. A channel of conv2 that is
# negative for every image gets no gradient at all, so nothing ever moves it back: it is dead. When all
# 20 are dead the last layer sees only zeros and the network outputs its bias, one number for every image.

# %% [markdown] lang="zh"
# ## 死通道
# ReLU 对所有负的输入都输出 0，在那里也不传递梯度。如果 conv2 的某个通道对每张图片都是负的，它就
# 得不到任何梯度，也就没有什么能把它拉回来：这个通道死了。20 个通道全死时，最后一层只看到 0，
# 网络输出的就是它的偏置，对每张图片都是同一个数。

# %%
@paddle.no_grad()
def dead_channels(model, count=1000):
    """The share of conv2's channels whose ReLU output is zero for every one of `count` valid images."""
    model.eval()
    images = paddle.to_tensor(load_course_data()["valid"][0][:count].reshape(-1, *IMAGE))
    activations = F.relu(model.conv2(model.pool1(F.relu(model.conv1(images))))).numpy()
    return float(np.mean(activations.max(axis=(0, 2, 3)) == 0))


# %% [markdown] lang="en"
# ## The CNN: the course's setting, and with a warm-up
# For each seed, the CNN twice: with the course's constant learning rate 0.01, and with a warm-up that
# raises it from 0 to 0.01 over the first epoch. Nothing else differs. With the constant rate the first
# steps overshoot, and the loss may stay at ~8.3, the labels' variance: what predicting the mean label
# for every image costs. The share of dead channels after training says why.

# %% [markdown] lang="zh"
# ## CNN：课程的设置，以及加上学习率预热
# 对每个随机种子，CNN 训练两次：一次用课程的恒定学习率 0.01，一次加上学习率预热，在第一轮内把
# 学习率从 0 升到 0.01。除此之外没有任何不同。用恒定学习率时，最初几步会冲过头，损失可能停在
# 约 8.3，即标签的方差：这正是对每张图片都预测平均标签的代价。训练后死通道的比例说明了原因。

# %%
rows = [("linear (lr 0.001)", linear, None), ("mlp", mlp, None)]
course_runs, warmup_runs = [], []
for run_seed in seeds:
    for schedule, runs in (("constant", course_runs), ("warmup", warmup_runs)):
        name = f"cnn, seed {run_seed}, " + ("course" if schedule == "constant" else "warm-up")
        config = replace(course, model="cnn", seed=run_seed, lr_schedule=schedule,
                         out=f"{out}/cnn-seed{run_seed}-{schedule}")
        try:
            result = fit(config, lambda: CNN(1))
        except UserError as error:  # the course setting can also blow up outright: part of what this lab shows
            print(f"{name}: diverged: {error}")
            continue
        runs.append(result.run)
        rows.append((name, result, dead_channels(result.model)))

# %% [markdown] lang="en"
# ## Comparing the regressions
# One row per run: the last epoch's train loss, the mean squared error on the test images, how often
# the rounded prediction is the digit, and the share of dead conv2 channels. Then the loss curves side
# by side: linear, MLP and the warmed-up CNN, and each CNN run with and without the warm-up.

# %% [markdown] lang="zh"
# ## 比较各个回归模型
# 每次训练一行：最后一轮的训练损失，测试集图片上的均方误差，预测值四舍五入后等于标签的比例，以及
# conv2 死通道的比例。然后把损失曲线并排画出：线性模型、MLP 和加了预热的 CNN 画在一张图里；
# 每个 CNN 加与不加预热的对比画在另一张图里。

# %%
print(f"\n{'run':24s} {'final train loss':>16s} {'eval MSE':>9s} {'eval acc':>9s} {'dead conv2':>10s}")
for name, result, dead in rows:
    print(f"{name:24s} {result.epochs[-1]['train_loss']:16.4f} {result.eval['loss']:9.4f} "
          f"{100 * result.eval['accuracy']:8.2f}%" + ("" if dead is None else f" {dead:10.0%}")
          + ("  stalled: constant output" if dead == 1 else ""))
loss_figures = (
    plot_runs([linear.run, mlp.run, *warmup_runs[:1]], f"{out}/linear_mlp_cnn.png",
              "train loss, MSE regression, SGD 0.01", ["linear (lr 0.001)", "MLP", "CNN (warm-up)"], logy=True),
    plot_runs(course_runs + warmup_runs, f"{out}/cnn_course_vs_warmup.png", "CNN train loss: course setting vs warm-up",
              [f"{run.config['lr_schedule']}, seed {run.config['seed']}" for run in course_runs + warmup_runs],
              logy=True),
)

# %% [markdown] lang="en"
# ## 2. The same two networks as classifiers
# Even the best regression gets a rounded digit right only about 60% of the time: it treats the labels as
# quantities, so a 1 that looks a bit like a 7 comes out near 4, which is neither. Trained as classifiers
# instead (10 outputs, softmax cross-entropy: lab 04's topic, same SGD 0.01, half the epochs), the two
# networks part clearly.

# %% [markdown] lang="zh"
# ## 2. 把这两个网络当作分类器
# 即使是最好的回归模型，四舍五入后的数字也只有约 60% 是对的：它把标签当作数量，所以一个有点像 7
# 的 1 会输出 4 左右，哪个都不是。改为按分类器训练（10 个输出，softmax 交叉熵：实验 04 的主题；
# 同样是 SGD 0.01，轮数减半），两个网络就明显拉开了差距。

# %%
classifier = replace(course, loss="ce", epochs=max(1, epochs // 2), log_interval=100)
classifiers = {"MLP": fit(replace(classifier, model="mlp", out=f"{out}/mlp-ce"), lambda: MLP(10)),
               "CNN": fit(replace(classifier, model="cnn", out=f"{out}/cnn-ce"), lambda: CNN(10))}

# %% [markdown] lang="en"
# ## Comparing the classifiers
# The test accuracy of each, their loss curves in one figure and their valid accuracy after each epoch
# in another.

# %% [markdown] lang="zh"
# ## 比较两个分类器
# 各自在测试集上的准确率；它们的损失曲线画在一张图里，每轮结束后的验证集准确率画在另一张图里。

# %%
for name, result in classifiers.items():
    print(f"classifier {name}: eval accuracy {100 * result.eval['accuracy']:.2f}%, eval loss {result.eval['loss']:.4f}")
curves = {}
for name, result in classifiers.items():
    batches = result.run.records("batch")
    curves[f"{name} train loss"] = ([r["step"] for r in batches], [r["window_loss"] for r in batches])
plot_curves(curves, f"{out}/classifiers_loss.png", "MLP vs CNN as classifiers (cross-entropy, SGD 0.01)", logy=True)
accuracy = {f"{name} valid accuracy": ([e["epoch"] + 1 for e in result.epochs],
                                       [e["valid_accuracy"] for e in result.epochs])
            for name, result in classifiers.items()}
plot_curves(accuracy, f"{out}/classifiers_accuracy.png", "MLP vs CNN as classifiers", xlabel="epoch",
            ylabel="valid accuracy")
print(f"figures in {out}: linear_mlp_cnn.png, cnn_course_vs_warmup.png, classifiers_loss.png, "
      f"classifiers_accuracy.png")
eval_mse = {name: result.eval["loss"] for name, result, _ in rows}  # a run that diverged has no row: nan
dead_share = {name: share for name, _, share in rows}
record(out, mlp_mse=mlp.eval["loss"], cnn_course_mse=eval_mse.get(f"cnn, seed {seeds[0]}, course", np.nan),
       cnn_course_dead=dead_share.get(f"cnn, seed {seeds[0]}, course", np.nan),
       cnn_warmup_mse=eval_mse.get(f"cnn, seed {seeds[0]}, warm-up", np.nan),
       mlp_classifier_accuracy=classifiers["MLP"].eval["accuracy"],
       cnn_classifier_accuracy=classifiers["CNN"].eval["accuracy"])  # for the lab report
