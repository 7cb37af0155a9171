# %% [markdown] lang="en"
# # Lab 03 · 网络结构 (CNN): a convolutional network for the same task, and when it beats the MLP
#
# - **Course:** 【手写数字识别】之网络结构 (the CNN half).
# - **You build:** the course's CNN (conv 20@5x5 + max-pool, twice, then `Linear(980, 1)`), trained as lab 02
#   trained the MLP (MSE, SGD 0.01, batch 100, 10 epochs) in the shared loop; then both nets as classifiers.
# - **You will see:** the course's setting stall on this data file for most seeds (all conv2 channels dead,
#   one output for every image), why, and two cures; then the MLP and the CNN as classifiers, two optimizers.
#
# As a script: `python labs/03_cnn_regression.py` (`--help` lists its flags; `--seeds 0 1 2` runs the
# full study).

# %% [markdown] lang="zh"
# # 实验 03 · 网络结构（CNN）：同一任务换成卷积网络，以及它什么时候胜过 MLP
#
# - **对应课程章节**：【手写数字识别】之网络结构（后半部分，卷积神经网络）。
# - **本实验要做的**：课程的 CNN（卷积 20@5x5 + 最大池化，重复两次，再接 `Linear(980, 1)`），按实验 02
#   训练 MLP 的方式训练（均方误差，SGD 0.01，batch 100，10 轮），放在共享的训练循环里；再把两个网络都当作分类器训练。
# - **你会看到**：课程的设置在这份数据文件上对多数随机种子会停滞（conv2 的通道全部死亡，对每张图片输出
#   同一个数）、原因，以及两种解法；然后是 MLP 与 CNN 在两种优化器下做分类的对比。
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
from digits.prepare import ensure_datafile, rescaled_copy
from digits.errors import Diverged
from digits.lab import lab_setup, print_table, record
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
# end, and keeps everything in a run folder. The curve below each run is drawn as it trains. Its
# `train_step()` is lab 02's five lines; it also swaps the `Conv2D` layers above for oneDNN's faster ones
# from outside (`digits.onednn.accelerate`, same parameters), so the class stays the course's.

# %% [markdown] lang="zh"
# ## 在共享训练循环中使用课程的设置
# `TrainConfig` 保存实验 02 里手写的那些东西：损失函数、优化器、学习率、训练轮数。
# `fit(config, make_model)` 设置随机种子，构建模型，运行实验 02 的训练循环，每 `log_interval` 个
# batch 打印一次损失，每轮结束后在验证集图片上评估，最后在测试集图片上评估，所有结果都保存在一个
# 运行文件夹里。每次训练下方的曲线随训练实时绘制。其中的 `train_step()` 就是实验 02 的那五行；
# `fit()` 还会从外部把上面的 `Conv2D` 层换成 oneDNN 更快的实现（`digits.onednn.accelerate`，参数
# 不变），所以类本身仍与课程一致。

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
def dead_conv2_channels(model, images):
    """The share of conv2's channels whose ReLU output is zero for every one of `images` (models/cnn.py
    keeps this same function)."""
    model.eval()
    activations = F.relu(model.conv2(model.pool1(F.relu(model.conv1(paddle.to_tensor(images)))))).numpy()
    return float((activations.max(axis=(0, 2, 3)) == 0).mean())



# %% [markdown] lang="en"
# ## The CNN: the course's setting, and two cures
# For each seed the CNN is trained three times, each differing from the course's setting in one thing:
# - **course**: the data file as it is, pixels x/127.5 - 1 with background -1 (the legacy `paddle.dataset`
#   convention, and what the course's own file holds, as far as its printed outputs tell);
# - **pixels 0..1**: the same images as x/255, background 0 (`digits.prepare.rescaled_copy` writes the copy);
# - **warm-up**: the learning rate rises from 0 to 0.01 over the first epoch, then stays at the course's 0.01.
#
# Why the first one stalls: at the first steps the error is large (the net predicts about 0 for digits that
# average 4.5), and one SGD step moves the output by about `2 * lr * error * |features|^2`, the features
# being the last layer's 980 inputs. With a background of -1 every pixel is far from zero, the features
# are large, and one step overshoots by many times the error: the gradients explode and, for most seeds,
# all of conv2's ReLUs die. The network then outputs one number, the mean label, and the loss sits at the
# labels' variance, 8.3. With a background of 0 most inputs are zero and the same step stays in bounds:
# scaling the input is the first cure (in `bench/cnn_regression_arms.py`'s runs, whose table the lab report
# holds, every [0, 1] run learned, though many conv2 channels still died in the first steps). The warm-up
# keeps the input and makes the first steps small instead (Goyal et al. 2017); there it kept every channel
# alive and ended lowest.

# %% [markdown] lang="zh"
# ## CNN：课程的设置，以及两种解法
# 每个随机种子下 CNN 训练三次，每次只在一处与课程的设置不同：
# - **course（课程的设置）**：数据文件原样使用，像素为 x/127.5 - 1，背景为 -1（旧版 `paddle.dataset` 的约定；
#   从课程打印的结果看，课程自己的文件也是这样）；
# - **pixels 0..1（像素 0..1）**：同样的图片换成 x/255，背景为 0（副本由 `digits.prepare.rescaled_copy` 写出）；
# - **warm-up（学习率预热）**：学习率在第一轮内从 0 升到 0.01，之后保持课程的 0.01。
#
# 第一种为什么会停滞：最初几步误差很大（数字的平均值是 4.5，网络却预测约 0），而 SGD 一步让输出
# 变化约 `2 * lr * error * |features|^2`，这里的 features 是最后一层的 980 个输入。背景为 -1 时，
# 每个像素都离 0 很远，特征很大，一步就冲过头许多倍：梯度爆炸，对多数随机种子，conv2 的 ReLU 会全部
# 死亡。此后网络只输出一个数，即平均标签，损失停在标签的方差 8.3。背景为 0 时大部分输入是 0，同样的
# 一步不会越界：调整输入的取值范围就是第一种解法（在 `bench/cnn_regression_arms.py` 的对比实验里，其表格
# 见实验报告，[0, 1] 的每次训练都学起来了，只是 conv2 仍有不少通道在最初几步就死了）。学习率预热则保留
# 原来的输入，改为让最初几步走得小一些（Goyal et al. 2017）；在对比实验里，它让所有通道都活着，最终损失
# 也最低。

# %%
datafile = ensure_datafile()
variants = {  # name: what differs from the course's setting
    "course": {"data": datafile},
    "pixels 0..1": {"data": rescaled_copy(datafile, "x/255")},  # the same images, x/255 instead of x/127.5 - 1
    "warm-up": {"lr_schedule": "warmup"},
}
rows = [("linear (lr 0.001)", linear, None), ("mlp", mlp, None)]
cnn_runs = {variant: [] for variant in variants}
for run_seed in seeds:
    for variant, change in variants.items():
        name = f"cnn, seed {run_seed}, {variant}"
        config = replace(course, model="cnn", seed=run_seed, out=f"{out}/cnn-seed{run_seed}-{variant.replace(' ', '').replace('..', 'to')}",
                         **change)
        try:
            result = fit(config, lambda: CNN(1))
        except Diverged as error:  # the course setting can also blow up outright: part of what this lab shows
            print(f"{name}: diverged: {error}")
            continue
        cnn_runs[variant].append(result.run)
        probe = load_course_data(config.data)["valid"][0][:1000].reshape(-1, *IMAGE)  # in the run's pixel range
        rows.append((name, result, dead_conv2_channels(result.model, probe)))

# %% [markdown] lang="en"
# ## Comparing the regressions
# One row per run: the last epoch's train loss, the mean squared error on the test images, how often
# the rounded prediction is the digit, and the share of dead conv2 channels. Then the loss curves: linear,
# MLP and the warmed-up CNN in one figure, every CNN run in another. `bench/cnn_regression_arms.py` repeats
# the three CNN settings over three seeds for 10 epochs; its table (mean ± std per setting) is in the lab
# report, report/README.md.
#
# On AI Studio with the course's own `mnist.json.gz`, look at one image's smallest and largest pixel (lab
# 01 prints them). At -1 and 1, expect this stall in the course's setting. The course's two published runs
# learned all the same (loss 29.02 -> 0.980); we could not reproduce that on [-1, 1] pixels. Paddle 2.6 and
# 3.x use the same default initialisers (Conv2D: normal, std sqrt(2 / fan_in); Linear: Xavier), so a seed
# gives weights of the same spread; Paddle 2.0, which the course ran, could not be tried here.

# %% [markdown] lang="zh"
# ## 比较各个回归模型
# 每次训练一行：最后一轮的训练损失，测试集图片上的均方误差，预测值四舍五入后等于标签的比例，以及
# conv2 死通道的比例。然后是损失曲线：线性模型、MLP 和加了预热的 CNN 画在一张图里，所有 CNN 的训练
# 画在另一张图里。`bench/cnn_regression_arms.py` 用三个随机种子、各训练 10 轮，重复这三种 CNN 设置；
# 它的表格（每种设置的均值 ± 标准差）在实验报告 report/README.md 里。
#
# 在 AI Studio 上用课程自己的 `mnist.json.gz` 时，先看一张图片像素的最小值和最大值（实验 01 会打印）。
# 如果是 -1 和 1，课程的设置很可能出现这里的停滞。课程公布的两次训练却都学起来了（损失 29.02 -> 0.980）；
# 在 [-1, 1] 的像素上我们没能重现这一点。Paddle 2.6 和 3.x 的默认初始化方法相同（Conv2D：正态分布，
# 标准差 sqrt(2 / fan_in)；Linear：Xavier），所以同一个随机种子给出的权重分布一样；课程用的 Paddle 2.0
# 在这里无法试验。

# %%
print_table(["run", "final train loss", "eval MSE", "eval acc", "dead conv2", ""],
            [(name, f"{result.epochs[-1]['train_loss']:.4f}", f"{result.eval['loss']:.4f}",
              f"{100 * result.eval['accuracy']:.2f}%", "" if dead is None else f"{dead:.0%}",
              "stalled: constant output" if dead == 1 else "") for name, result, dead in rows])
loss_figures = (
    plot_runs([linear.run, mlp.run, *cnn_runs["warm-up"][:1]], f"{out}/linear_mlp_cnn.png",
              "train loss, MSE regression, SGD 0.01", ["linear (lr 0.001)", "MLP", "CNN (warm-up)"], logy=True),
    plot_runs([run for runs in cnn_runs.values() for run in runs], f"{out}/cnn_course_vs_cures.png",
              "CNN train loss: the course's setting and its two cures",
              [f"{variant}, seed {run.config['seed']}" for variant, runs in cnn_runs.items() for run in runs], logy=True),
)

# %% [markdown] lang="en"
# ## 2. The same two networks as classifiers
# A regression treats the labels as quantities, so a 1 that looks a bit like a 7 comes out near 4, which is
# neither; its rounded answers are right far less often than a classifier's. Here both networks become
# classifiers (10 outputs, softmax cross-entropy: lab 04's topic; half the epochs), each trained twice:
# with the course's SGD 0.01, and with Adam 0.001 (lab 05 compares the optimizers). The MLP is lab 02's
# 784-10-10 sigmoid network with 10 outputs. Under SGD 0.01 its sigmoid units learn slowly, and after a few
# epochs it has hardly started: that run says more about SGD on sigmoids than about MLPs. Adam gives both
# networks a fair start; the gap left between the two Adam runs is what the convolutions bring.

# %% [markdown] lang="zh"
# ## 2. 把这两个网络当作分类器
# 回归把标签当作数量，所以一个有点像 7 的 1 会输出 4 左右，哪个都不是；四舍五入后答对的比例远低于
# 分类器。这里把两个网络都改成分类器（10 个输出，softmax 交叉熵：实验 04 的主题；轮数减半），各训练
# 两次：一次用课程的 SGD 0.01，一次用 Adam 0.001（实验 05 比较各种优化器）。MLP 就是实验 02 的
# 784-10-10 sigmoid 网络，输出改为 10 个。在 SGD 0.01 下，它的 sigmoid 单元学得很慢，训练几轮后几乎还没
# 起步：这次训练反映的是 SGD 配 sigmoid 的问题，而不是 MLP 的能力。Adam 让两个网络在公平的条件下比较；
# 两次 Adam 训练之间剩下的差距，才是卷积带来的。

# %%
classifier = replace(course, loss="ce", epochs=max(1, epochs // 2), log_interval=100)
networks = {"MLP": lambda: MLP(10), "CNN": lambda: CNN(10)}
classifiers = {}
for optimizer, lr in (("sgd", 0.01), ("adam", 0.001)):
    for name, make_model in networks.items():
        config = replace(classifier, model=name.lower(), optimizer=optimizer, lr=lr,
                         out=f"{out}/{name.lower()}-ce-{optimizer}")
        classifiers[f"{name}, {optimizer} {lr:g}"] = fit(config, make_model)

# %% [markdown] lang="en"
# ## Comparing the classifiers
# The test accuracy of each run, the loss curves in one figure and the valid accuracy after each epoch in
# another.

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
plot_curves(curves, f"{out}/classifiers_loss.png", "MLP vs CNN as classifiers (cross-entropy)", logy=True)
accuracy = {f"{name} valid accuracy": ([e["epoch"] + 1 for e in result.epochs],
                                       [e["valid_accuracy"] for e in result.epochs])
            for name, result in classifiers.items()}
plot_curves(accuracy, f"{out}/classifiers_accuracy.png", "MLP vs CNN as classifiers", xlabel="epoch",
            ylabel="valid accuracy")
print(f"figures in {out}: linear_mlp_cnn.png, cnn_course_vs_cures.png, classifiers_loss.png, "
      f"classifiers_accuracy.png")
eval_mse = {name: result.eval["loss"] for name, result, _ in rows}  # a run that diverged has no row: nan
dead_share = {name: share for name, _, share in rows}
record(out, mlp_mse=mlp.eval["loss"], cnn_course_mse=eval_mse.get(f"cnn, seed {seeds[0]}, course", np.nan),
       cnn_course_dead=dead_share.get(f"cnn, seed {seeds[0]}, course", np.nan),
       cnn_pixels01_mse=eval_mse.get(f"cnn, seed {seeds[0]}, pixels 0..1", np.nan),
       cnn_pixels01_dead=dead_share.get(f"cnn, seed {seeds[0]}, pixels 0..1", np.nan),
       cnn_warmup_mse=eval_mse.get(f"cnn, seed {seeds[0]}, warm-up", np.nan),
       mlp_classifier_accuracy=classifiers["MLP, sgd 0.01"].eval["accuracy"],
       cnn_classifier_accuracy=classifiers["CNN, sgd 0.01"].eval["accuracy"],
       mlp_adam_accuracy=classifiers["MLP, adam 0.001"].eval["accuracy"],
       cnn_adam_accuracy=classifiers["CNN, adam 0.001"].eval["accuracy"])  # for the lab report


# %% [markdown] lang="en"
# ## How this lab differs from the course
# - The course trains the CNN once, in its setting. Here each seed also runs with [0, 1] pixels and with a
#   warm-up, and the dead-channel probe shows why a run stalled.
# - Part 2 is new: the course compares the two networks only as regressions. Adam 0.001 is added beside the
#   course's SGD 0.01 so that the MLP is not judged by a run that has hardly started.
# - The conv layers run on oneDNN's kernels (`onednn = False`: Paddle's own, as the course ran them).

# %% [markdown] lang="zh"
# ## 与课程的不同
# - 课程只在它的设置下训练一次 CNN。这里每个随机种子还用 [0, 1] 的像素、以及学习率预热各训练一次，
#   并用死通道的比例说明一次训练为什么停滞。
# - 第 2 部分是新增的：课程只在回归任务上比较这两个网络。在课程的 SGD 0.01 之外加上 Adam 0.001，
#   免得用一次几乎还没起步的训练来评判 MLP。
# - 卷积层用 oneDNN 的实现（`onednn = False`：用 Paddle 自己的实现，与课程相同）。
