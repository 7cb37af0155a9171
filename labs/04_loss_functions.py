# %% [markdown] lang="en"
# # Lab 04 · 损失函数: from regressing the digit to classifying it
#
# - **Course:** 【手写数字识别】之损失函数.
# - **You build:** lab 03's CNN made a classifier by the course's three changes (`int64` labels,
#   `Linear(980, 10)` as the last layer, `F.cross_entropy` as the loss), trained as the course trains it.
# - **You will see:** the course's worked numbers for softmax and -log p, computed; the classifier against
#   lab 03's regression of the same CNN; the course's `evaluation()`; a digit photo read by the classifier.
#
# As a script: `python labs/04_loss_functions.py` (`--help` lists its flags).

# %% [markdown] lang="zh"
# # 实验 04 · 损失函数：从回归数字到分类数字
#
# - **对应课程章节**：【手写数字识别】之损失函数。
# - **本实验要做的**：按课程的三处改动（标签改为 `int64`，最后一层改为 `Linear(980, 10)`，损失函数改为
#   `F.cross_entropy`），把实验 03 的 CNN 改成分类器，并按课程的方式训练。
# - **你会看到**：课程中 softmax 和 -log p 的算例，实际算一遍；分类器与同一个 CNN 做回归（实验 03）的对比；
#   课程的 `evaluation()`；用分类器识别一张数字照片。
#
# 作为脚本运行：`python labs/04_loss_functions.py`（`--help` 列出所有参数）。

# %%
import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
import paddle.nn.functional as F
from digits.data import IMAGE, load_course_data, load_data
from digits.evaluation import predict_photos
from digits.lab import lab_setup, record
from digits.plots import plot_curves
from digits.preprocess import digit_photo
from digits.training import LOSS_FUNCTIONS, TrainConfig, fit, label_dtype, seed_everything
from models.cnn import CNN

# %% tags=["parameters"]
epochs = 10  # passes over the training set (the course's 10)
seed = 0  # fixes Python, NumPy (the loader's shuffle) and Paddle (the initial weights)
onednn = True  # the conv layers on oneDNN's kernels (False: Paddle's own, as the course ran them)
quick = False  # one epoch only: a smoke test, as CI runs the labs
image = []  # your own digit photos, a list of paths (empty: an eval digit drawn as a photo)

# %%
out = lab_setup("lab04", globals())  # a script's flags replace the values above; out = runs/lab04/<time>

# %% [markdown] lang="en"
# ## 1. Softmax and cross-entropy, in numbers
# Softmax turns any ten scores into ten probabilities (positive, summing to 1); the largest score gets the
# largest share. Cross-entropy is then -log of the probability given to the true digit: 0.51 when it gets
# 0.6, 2.30 when it gets only 0.1, and without bound as it tends to 0. The course's numbers, computed and
# printed beside the course's:

# %% [markdown] lang="zh"
# ## 1. 用数字看 softmax 和交叉熵
# softmax 把任意十个分数变成十个概率（都为正，加起来等于 1）；分数最大的分到的概率也最大。交叉熵就是
# 真实数字所得概率的 -log：概率为 0.6 时是 0.51，只有 0.1 时是 2.30，概率趋于 0 时损失无限增大。
# 下面把课程中的数字算一遍，与课程的数值并排打印：

# %%
scores = paddle.to_tensor([[3.0, 1.0, -3.0]])
probabilities = F.softmax(scores)
print(f"softmax([3, 1, -3]) = [{', '.join(f'{p:.4f}' for p in probabilities.numpy()[0])}]   "
      f"(course: ~ [0.88, 0.12, 0]); they sum to {float(probabilities.sum()):.4f}")
for p, course in ((0.6, "0.51"), (0.1, "2.30")):
    print(f"-log {p} = {float(-paddle.log(paddle.to_tensor(p))):.4f}   (course: {course})")
label = paddle.to_tensor([[0]])
print(f"cross-entropy of those scores if the true digit is the first: {float(F.cross_entropy(scores, label)):.4f} "
      f"= -log {float(probabilities[0, 0]):.4f}")

# %% [markdown] lang="en"
# The course plots log x; its negative is the loss of one example as a function of the probability the
# model gives the true digit. Near p = 1 it is flat (little left to learn), near 0 it is steep: a confident
# wrong answer costs the most.

# %% [markdown] lang="zh"
# 课程画的是 log x；加上负号，就是单个样本的损失随模型给真实数字的概率变化的曲线。在 p = 1 附近
# 曲线很平（没什么可学的了），在 0 附近很陡：自信的错误答案代价最大。

# %%
x = np.linspace(0.01, 1.0, 100)
figure = plot_curves({"log x (the course's plot)": (x, np.log(x)), "-log p, the cross-entropy": (x, -np.log(x))},
            f"{out}/log_x.png", "cross-entropy of one example", xlabel="x = p, the probability given to the true digit",
            ylabel="y")

# %% [markdown] lang="en"
# ## 2. From regression to classification: the course's three changes
# A digit's label is a category, not a quantity: predicting 3.6 for a 4 says nothing useful. So the course
# makes three changes to lab 03: `int64` labels (a class index), `Linear(980, 10)` as the last layer (lab 03's
# CNN with `num_outputs=10`: one score per digit) and `F.cross_entropy` as the loss, which punishes a
# confident wrong answer hard. Everything else (data, CNN body, optimizer, loop) stays as in lab 03.
#
# A model that knew nothing and said so would give every digit 0.1 and score -log 0.1 = 2.30; the untrained
# CNN's random scores are less even than that, so its first loss on a batch is of that order, somewhat
# higher: a check that the loss is wired right.

# %% [markdown] lang="zh"
# ## 2. 从回归到分类：课程的三处改动
# 数字的标签是类别，不是数量：把 4 预测成 3.6 没有什么用。所以课程在实验 03 的基础上改了三处：标签改为
# `int64`（类别的编号），最后一层改为 `Linear(980, 10)`（即实验 03 的 CNN 设 `num_outputs=10`：每个数字
# 一个分数），损失函数改为 `F.cross_entropy`，它对自信的错误答案惩罚很重。其余部分（数据、CNN 主体、
# 优化器、训练循环）都和实验 03 一样。
#
# 一个什么都不知道、也如实承认的模型，会给每个数字 0.1 的概率，损失为 -log 0.1 = 2.30；未训练的 CNN
# 给出的随机分数没有那么均匀，所以它在一个 batch 上的初始损失在这个量级，略高一些：这可以用来检查
# 损失函数接得对不对。

# %%
labels_dtype = "int64"                          # 1. a label is a class index, not a number to regress
make_classifier = lambda: CNN(num_outputs=10)   # 2. lab 03's CNN, its last layer Linear(980, 10)
loss_fn = F.cross_entropy                       # 3. softmax + -log p(true digit), averaged over the batch
# fit(loss="ce") makes exactly these two choices; check it, then let fit() run the loop
assert LOSS_FUNCTIONS["ce"] is loss_fn and label_dtype("ce") == labels_dtype

seed_everything(seed)
untrained = make_classifier()
print(f"the classifier's last layer: {untrained.fc}")
images, labels = next(load_data("train", 100, image_shape=IMAGE, label_dtype=labels_dtype)())
first_loss = float(loss_fn(untrained(paddle.to_tensor(images)), paddle.to_tensor(labels)))
print(f"untrained, on one batch: cross-entropy {first_loss:.4f} (a guess giving every digit 0.1 would score "
      f"-log 0.1 = 2.30; fit() below starts from these same weights and batch)")

# %% [markdown] lang="en"
# ## 3. Training, regression against classification
# First the baseline: lab 03's regression of the same CNN (one output, MSE against the digit's value, the
# prediction rounded to score it; its gradient clipped, see the end of the lab), trained as the course trains
# its classifier: SGD 0.01, batch 100, `epochs` epochs (the course's 10), the loss printed every 200 batches.
# The curves below the cell are drawn as it trains.

# %% [markdown] lang="zh"
# ## 3. 训练：回归与分类对比
# 先训练基线：像实验 03 那样用同一个 CNN 做回归（一个输出，与数字的值计算均方误差，预测值四舍五入
# 后计分；梯度做了裁剪，见实验末尾），训练方式与课程训练分类器时相同：SGD 0.01，batch 100，训练
# `epochs` 轮（课程是 10 轮），每 200 个 batch 打印一次损失。单元格下方的曲线随训练实时绘制。

# %%
def config(loss):
    """The course's setting for this lab: SGD 0.01, batch 100 (TrainConfig's default), the loss every 200 batches."""
    return TrainConfig(model="cnn", loss=loss, optimizer="sgd", lr=0.01, epochs=epochs, seed=seed,
                       grad_clip=1.0 if loss == "mse" else 0.0, log_interval=200, out=f"{out}/cnn-{loss}")


regression = fit(config("mse"), lambda: CNN(num_outputs=1))

# %% [markdown] lang="en"
# Then the classifier: ten outputs and cross-entropy, everything else the same. Its loss starts at the
# untrained value printed above (same seed, same weights, same first batch).

# %% [markdown] lang="zh"
# 然后训练分类器：十个输出加交叉熵，其余完全相同。它的损失从上面打印的未训练时的值开始（同一个
# 随机种子，同样的权重，同样的第一个 batch）。

# %%
classification = fit(config("ce"), make_classifier)
classifier = classification.model
print(f"\nsame CNN, SGD 0.01, {epochs} epoch{'s' * (epochs > 1)}:")
print(f"  {'regression (MSE, clipped, rounded)':38s} eval accuracy {100 * regression.eval['accuracy']:.2f}%")
print(f"  {'classification (softmax + CE)':38s} eval accuracy {100 * classification.eval['accuracy']:.2f}%")

# %% [markdown] lang="en"
# ## 4. The course's evaluation()
# The course scores the classifier with `paddle.metric.accuracy`, batch by batch, and averages the batches'
# accuracies. It is run here on the valid split (the course's) and on the 10,000 eval images. It must agree
# with the library's `evaluate()` (the numbers `fit()` printed): a second, independent count of the same thing.

# %% [markdown] lang="zh"
# ## 4. 课程的 evaluation()
# 课程用 `paddle.metric.accuracy` 逐个 batch 给分类器计分，再对各个 batch 的准确率取平均。这里在验证集
# （课程用的）和 10,000 张测试集（eval）图片上各算一次。结果必须与共享库的 `evaluate()`（也就是
# `fit()` 打印的数字）一致：这是对同一件事的第二次独立计数。

# %%
@paddle.no_grad()
def evaluation(model, mode="valid", batch_size=128):
    """The course's evaluation(): paddle.metric.accuracy per batch, averaged over the batches (weighted by
    their size, so the last, smaller batch counts for its images)."""
    model.eval()
    accuracies, sizes = [], []
    for images, labels in load_data(mode, batch_size, image_shape=IMAGE, label_dtype="int64")():
        predicts = model(paddle.to_tensor(images))
        acc = paddle.metric.accuracy(input=predicts, label=paddle.to_tensor(labels))
        accuracies.append(float(acc))  # the course: acc_set.extend(acc.numpy()); acc is 0-D since Paddle 2.5
        sizes.append(len(images))
    model.train()
    return float(np.average(accuracies, weights=sizes))


agree = []  # evaluation() and evaluate() equal on each split (to float32 rounding, far below one image)
for mode, theirs in (("valid", classification.epochs[-1]["valid_accuracy"]), ("eval", classification.eval["accuracy"])):
    ours = evaluation(classifier, mode)
    print(f"evaluation() with paddle.metric.accuracy, {mode}: {100 * ours:.2f}% "
          f"(digits.training.evaluate: {100 * theirs:.2f}%)")
    agree.append(abs(ours - theirs) < 1e-6)

# %% [markdown] lang="en"
# ## 5. Reading a digit photo
# The classifier's answer is the digit with the largest score; softmax of the scores says how sure it is.
# Without photos of your own (`image`), an eval digit is drawn as a photo (dark ink on white, as a phone
# would take it) and read back the way MNIST was made.

# %% [markdown] lang="zh"
# ## 5. 识别一张数字照片
# 分类器的答案是分数最大的那个数字；对分数做 softmax，可以看出它有多确定。如果没有提供自己的照片
# （`image`），就把一张 eval 数字画成照片（白底黑字，就像手机拍的那样），再按照制作 MNIST 的方式
# 读回来。

# %%
def eval_digit(index=0):
    """The first eval digit as uint8 pixels, read back from the course file (background 0, ink 255)."""
    data = load_course_data()
    background, ink = data.pixel_range
    pixels = (data["eval"][0][index] - background) / (ink - background) * 255
    return np.rint(pixels).reshape(28, 28).astype(np.uint8)


paths = image or [digit_photo(eval_digit(), f"{out}/photo.png")]
predicted = predict_photos(classifier, "ce", paths, None, f"{out}/photos.png")  # None: the course data file
record(out, classification_accuracy=classification.eval["accuracy"], regression_accuracy=regression.eval["accuracy"],
       evaluation_equals_evaluate=all(agree), softmax_top=probabilities.numpy()[0, 0])  # for the lab report

# %% [markdown] lang="en"
# ## How this lab differs from the course
# - The same CNN is also trained as lab 03's regression (MSE, 1 output, rounded) with the same budget, so
#   the lab shows what the change buys; the course gives no such number (it is homework). The regression
#   clips the gradient norm at 1.0: without a cure the CNN regressor can stall at the mean (lab 03, whose
#   other cure, the warm-up, ends lower; clipping keeps every step small, which is enough for a
#   comparison with the classifier).
# - The plot shows -log p, the loss, beside the course's log x.
# - `evaluation()` reads every image: the course's `val_loader` drops the last partial batch
#   (`drop_last=True`) and averages per-batch accuracies; here the last batch is kept and the average is
#   weighted by batch size. `acc.numpy()` is a 0-D array since Paddle 2.5, so the course's
#   `acc_set.extend(acc.numpy())` fails: `float(acc)` instead. Besides the course's valid split, it also
#   scores the 10,000 eval images.
# - The loop is `fit()`'s (`digits.training`, the one lab 02 writes out), which also keeps a run folder.
# - The photo is read by `digits.evaluation.predict_photos` (argmax of the scores; the course: the last of
#   `np.argsort`, the same digit).

# %% [markdown] lang="zh"
# ## 与课程的不同
# - 同一个 CNN 还按实验 03 的回归方式（均方误差，1 个输出，四舍五入）用相同的训练量训练一次，这样
#   能看出改成分类带来了什么；课程没有给出这个数字（留作作业）。回归训练把梯度范数裁剪到 1.0：
#   不加处理的话，CNN 回归模型可能停滞在平均值上（见实验 03；那里的另一个办法，学习率预热，最终
#   损失更低；梯度裁剪让每一步都很小，用来和分类器比较已经足够）。
# - 图中除了课程的 log x，还画出了损失 -log p。
# - `evaluation()` 读取全部图片：课程的 `val_loader` 丢弃最后一个不满的 batch（`drop_last=True`），
#   并对各个 batch 的准确率直接取平均；这里保留最后一个 batch，按 batch 大小加权平均。从 Paddle 2.5
#   起 `acc.numpy()` 是 0 维数组，课程的 `acc_set.extend(acc.numpy())` 会报错，这里改用 `float(acc)`。
#   除了课程用的验证集，还在 10,000 张测试集（eval）图片上评估。
# - 训练循环用的是 `fit()` 的（`digits.training`，即实验 02 手写出来的那个），它还会保存一个运行文件夹。
# - 照片由 `digits.evaluation.predict_photos` 识别（取分数的 argmax；课程取 `np.argsort` 的最后一个，
#   得到的是同一个数字）。
