# %% [markdown] lang="en"
# # Lab 14b · Study notes: generalisation on MNIST, in Paddle
#
# - **Source:** study notes on generalisation; not a section of the course.
# - **You build:** on 10,000 training images, an MLP 784-512-512-10 with and without dropout; early stopping
#   that goes back to the best epoch; 5-fold cross-validation of the hidden width; random shifts and rotations
#   of the training images for the course's CNN.
# - **You will see:** the train/test gap with and without dropout; the train and validation loss per epoch,
#   drawn as it trains, the best epoch marked; each width's cross-validated accuracy; what augmentation does
#   to the CNN's test accuracy.
#
# As a script: `python labs/14b_generalisation.py` (`--help` lists its flags).

# %% [markdown] lang="zh"
# # 实验 14b · 学习笔记：MNIST 上的泛化（用 Paddle 实现）
#
# - **来源**：关于泛化的学习笔记；不是课程中的章节。
# - **本实验要做的**：只用 10,000 张训练图片：训练 MLP 784-512-512-10，加与不加 Dropout；提前停止，并回到最好的
#   那一轮；用 5 折交叉验证选隐藏层宽度；给课程 CNN 的训练图片加上随机平移和旋转。
# - **你会看到**：加与不加 Dropout 时训练准确率与测试准确率的差距；训练时逐轮画出的训练损失和验证损失，并标出
#   最好的一轮；每个宽度的交叉验证准确率；数据增强对 CNN 测试集准确率的影响。
#
# 作为脚本运行：`python labs/14b_generalisation.py`（`--help` 列出所有参数）。

# %%
import numpy as np
from PIL import Image

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
from digits.data import FLAT, IMAGE
from digits.dataset import MnistDataset
from digits.lab import lab_setup, record
from digits.plots import LiveCurves
from digits.training import seed_everything
from models import build_model

# %% tags=["parameters"]
epochs = 10  # epochs of the dropout runs (early stopping may take up to 3x, the other parts half)
seed = 0  # fixes Python, NumPy (folds, augmentation) and Paddle (weights, dropout, shuffling)
quick = False  # one epoch on 1000 images: a smoke test, as CI runs the labs

# %%
out = lab_setup("lab14b", globals())  # a script's flags replace the values above; out = runs/lab14b/<time>
count = 1000 if quick else 10_000
WIDTHS, FOLDS = (32, 128, 512), 5


def split(mode, shape, size=None):
    """The first `size` images of a course split (all of them without a size), as a Paddle dataset."""
    dataset = MnistDataset(mode, image_shape=shape, label_dtype="int64")
    return paddle.io.Subset(dataset, range(min(size or len(dataset), len(dataset))))


train_set, valid_set, test_set = split("train", FLAT, count), split("valid", FLAT, count // 5), split("eval", FLAT)
print(f"train {len(train_set)}, valid {len(valid_set)}, test {len(test_set)} images")

# %% [markdown] lang="en"
# ## The networks and the loop
# The cell above took 10,000 of the training images (and 2,000 validation images): few enough that
# over-fitting shows within a few epochs. A fully connected net, $h^l = \mathrm{relu}(h^{l-1} W^l + b^l)$,
# then ten scores and softmax cross-entropy, trained by `paddle.Model.fit` (lab 10): lab 02's loop with Adam
# at 0.001, batch 100.

# %% [markdown] lang="zh"
# ## 网络与训练循环
# 上面的单元格只取了 10,000 张训练图片（以及 2,000 张验证图片）：图片少，几轮之内就能看到过拟合。
# 全连接网络 $h^l = \mathrm{relu}(h^{l-1} W^l + b^l)$，最后输出十个分数，损失函数是 softmax 交叉熵，
# 用 `paddle.Model.fit` 训练（实验 10）：就是实验 02 的训练循环，优化器 Adam，学习率 0.001，batch 100。

# %%
def mlp(hidden, dropout=0.0):
    layers = []
    for fan_in, fan_out in zip((784, *hidden[:-1]), hidden):
        layers += [paddle.nn.Linear(fan_in, fan_out), paddle.nn.ReLU()] + ([paddle.nn.Dropout(dropout)] if dropout else [])
    return paddle.nn.Sequential(*layers, paddle.nn.Linear(hidden[-1], 10))


def trained(network, train_set, valid_set, epochs, callbacks=()):
    model = paddle.Model(network)
    model.prepare(paddle.optimizer.Adam(learning_rate=0.001, parameters=network.parameters()),
                  paddle.nn.CrossEntropyLoss(), paddle.metric.Accuracy())
    # paddle.Model reports the loss of the last evaluation batch as "the" validation loss: one batch holding
    # the whole validation set makes it the mean over every image, which early stopping should judge
    valid = paddle.io.DataLoader(valid_set, batch_size=len(valid_set)) if valid_set is not None else None
    model.fit(train_set, valid, batch_size=100, epochs=epochs, shuffle=True, verbose=0, callbacks=list(callbacks))
    return model


def accuracy(model, dataset):
    return model.evaluate(dataset, batch_size=500, verbose=0)["acc"]


# %% [markdown] lang="en"
# ## 1. Dropout
# In training, each hidden unit's output is multiplied by its own random mask, $\tilde h = h \odot m$ with
# $m = 0$ with probability $p$ and $m = 1/(1-p)$ otherwise; the backward pass multiplies the gradient by the
# same mask, $\partial L/\partial h = \partial L/\partial \tilde h \odot m$. Since $E[m] = 1$, the net is used
# unchanged at inference (`model.eval()` turns the masks off). No unit can rely on any other being there, so
# the net cannot memorise the training images as easily. An MLP 784-512-512-10 is trained with and without
# dropout 0.5: compare the gap between its train and test accuracy, which should narrow.

# %% [markdown] lang="zh"
# ## 1. Dropout
# 训练时，每个隐藏单元的输出都乘上它自己的随机掩码：$\tilde h = h \odot m$，其中 $m$ 以概率 $p$ 取 0，
# 否则取 $1/(1-p)$；反向传播时，梯度乘上同一个掩码：$\partial L/\partial h = \partial L/\partial \tilde h \odot m$。
# 因为 $E[m] = 1$，推理时网络不用做任何改动（`model.eval()` 会关掉掩码）。任何一个单元都不能指望别的单元
# 一定在，网络就不那么容易记住训练图片。MLP 784-512-512-10 加与不加 dropout 0.5 各训练一次：比较训练准确率与
# 测试准确率之间的差距，加了 Dropout 应该会缩小。

# %%
print("1. dropout")
dropout_accuracy = {}  # dropout: (train accuracy, test accuracy)
for dropout in (0.0, 0.5):
    seed_everything(seed)
    model = trained(mlp((512, 512), dropout), train_set, valid_set, epochs)
    train_accuracy, test_accuracy = accuracy(model, train_set), accuracy(model, test_set)
    print(f"   dropout {dropout}: train {100 * train_accuracy:.2f}%, test {100 * test_accuracy:.2f}%, "
          f"gap {100 * (train_accuracy - test_accuracy):.2f} points")
    dropout_accuracy[dropout] = train_accuracy, test_accuracy

# %% [markdown] lang="en"
# ## 2. Early stopping
# Train for up to 3x the epochs, scoring the validation set after each; `EarlyStopping` stops once the
# validation loss has not improved for 3 epochs (patience 3). The last epochs' parameters are then the
# over-fitted ones, so the callback below keeps a copy of the best epoch's parameters to go back to, and
# draws the losses per epoch: the train loss keeps falling while the validation loss turns up. The ring marks
# the best epoch, whose parameters are restored and tested.
# (Paddle's `fit` reports as the validation loss the loss of the *last validation batch*, and
# `EarlyStopping` watches that number: `trained()` above hands it the validation set as one batch, so the
# number is the mean over all of it.)

# %% [markdown] lang="zh"
# ## 2. 提前停止
# 最多训练 3 倍的轮数，每轮结束后在验证集上评估；验证损失连续 3 轮没有改善（patience 3）时，
# `EarlyStopping` 停止训练。这时最后几轮的参数是过拟合的，所以下面的回调函数保存一份最好那一轮的参数，
# 以便回退，并逐轮画出损失：训练损失一直下降，验证损失却开始回升。图中的圆圈标出最好的一轮，恢复的就是
# 这一轮的参数，测试的也是它。
# （Paddle 的 `fit` 报告的验证损失，是*最后一个验证 batch* 的损失，`EarlyStopping` 看的就是这个数：
# 上面的 `trained()` 把整个验证集作为一个 batch 交给它，所以这个数就是整个验证集上的平均损失。）

# %%
class BestEpoch(paddle.callbacks.Callback):
    """The validation loss after every epoch, and a copy of the parameters of the epoch with the lowest one
    (the first such epoch, as EarlyStopping counts it). `live` draws the epoch's mean train loss and the
    validation loss."""

    def __init__(self, live):
        super().__init__()
        self.live, self.losses, self.best_state, self.batch_losses = live, [], None, []

    def on_train_batch_end(self, step, logs=None):
        self.batch_losses.append(float(np.ravel(logs["loss"])[0]))

    def on_eval_end(self, logs=None):
        self.losses.append(float(np.ravel(logs["loss"])[0]))
        self.live.add("train (mean over the epoch)", len(self.losses), float(np.mean(self.batch_losses)))
        self.live.add("valid", len(self.losses), self.losses[-1])
        self.batch_losses = []
        if self.losses[-1] < min(self.losses[:-1], default=float("inf")):
            # copies: the tensors of state_dict() are the live parameters, which the next epochs change
            self.best_state = {name: value.numpy().copy() for name, value in self.model.network.state_dict().items()}


# %%
print("2. early stopping on the validation loss (patience 3)")
seed_everything(seed)
live = LiveCurves("early stopping: loss per epoch", xlabel="epoch", ylabel="loss")
best_epoch = BestEpoch(live)
stopper = paddle.callbacks.EarlyStopping(monitor="loss", mode="min", patience=3, save_best_model=False)
network = mlp((512, 512))
model = trained(network, train_set, valid_set, 3 * epochs, [best_epoch, stopper])
best = int(np.argmin(best_epoch.losses))
last_test = accuracy(model, test_set)
print(f"   stopped after {len(best_epoch.losses)} of {3 * epochs} epochs; best validation loss "
      f"{best_epoch.losses[best]:.4f} at epoch {best + 1}; test accuracy at the last epoch "
      f"{100 * last_test:.2f}%")
network.set_state_dict(best_epoch.best_state)
restored_loss = float(np.ravel(model.evaluate(valid_set, batch_size=len(valid_set), verbose=0)["loss"])[0])  # as fit
best_test = accuracy(model, test_set)
print(f"   restored the parameters of epoch {best + 1} (validation loss {restored_loss:.4f}): "
      f"test accuracy at the best epoch {best + 1} {100 * best_test:.2f}%")
live.add("best epoch (restored)", best + 1, best_epoch.losses[best], marker="o", markersize=16, markeredgewidth=2,
         markerfacecolor="none", linestyle="none", color="C3")  # a ring around the best epoch's valid point
live.save(f"{out}/early_stopping.png")

# %% [markdown] lang="en"
# ## 3. K-fold cross-validation of the hidden width
# A one-hidden-layer MLP, 32, 128 or 512 units wide. Split the training images into $K = 5$ folds; for each
# width train $K$ times, each time on four folds, and score the held-out fold. The mean of the $K$ scores
# estimates how the width does on images it was not trained on, without touching the test set (and with
# every image used for both training and scoring); the spread says how much to trust a difference. The
# chosen width is then trained on all the training images and tested once.

# %% [markdown] lang="zh"
# ## 3. 用 K 折交叉验证选择隐藏层宽度
# 单隐藏层 MLP，宽度取 32、128 或 512。把训练图片分成 $K = 5$ 折；每个宽度训练 $K$ 次，每次用其中四折训练，
# 在留出的那一折上评估。$K$ 个分数的平均值估计了这个宽度在没训练过的图片上表现如何，而且不用碰测试集
# （每张图片既参与训练，也参与评估）；分数的离散程度说明两个宽度之间的差别有多可信。选定宽度后，再用全部
# 训练图片训练，在测试集上只测一次。

# %%
print(f"3. {FOLDS}-fold cross-validation of the hidden width")
folds = np.array_split(np.random.default_rng(seed).permutation(len(train_set)), FOLDS)
scores = {}
for width in WIDTHS:
    scores[width] = []
    for k in range(FOLDS):
        seed_everything(seed)
        held_out = paddle.io.Subset(train_set, folds[k].tolist())
        rest = paddle.io.Subset(train_set, np.concatenate(folds[:k] + folds[k + 1:]).tolist())
        scores[width].append(accuracy(trained(mlp((width,)), rest, None, max(1, epochs // 2)), held_out))
    print(f"   width {width:4d}: accuracy {100 * np.mean(scores[width]):.2f}% +- {100 * np.std(scores[width]):.2f} "
          f"over the folds")
chosen = max(WIDTHS, key=lambda w: np.mean(scores[w]))
seed_everything(seed)
final = trained(mlp((chosen,)), train_set, None, max(1, epochs // 2))
chosen_test = accuracy(final, test_set)
print(f"   chosen width {chosen}: test accuracy {100 * chosen_test:.2f}%")

# %% [markdown] lang="en"
# ## 4. Data augmentation for the CNN
# Each time a training image is drawn it is turned by a random angle of up to 10 degrees and moved by up to
# 2 pixels: new images of the same digits, for free. The CNN (lab 03's) sees a slightly different set every
# epoch, which makes memorising harder; whether it helps depends on how far the shifted digits are from the
# test ones.

# %% [markdown] lang="zh"
# ## 4. CNN 的数据增强
# 每次取出一张训练图片时，都把它随机旋转最多 10 度、平移最多 2 个像素：同样的数字，新的图片，
# 几乎不花成本。CNN（实验 03 的那个）每一轮看到的训练集都略有不同，更难死记硬背；至于有没有帮助，
# 要看平移后的数字和测试集里的数字差得有多远。

# %%
class Augmented(paddle.io.Dataset):
    """Each time an image is drawn: a random rotation of up to `degrees` and a shift of up to `pixels`."""

    def __init__(self, base, background, degrees=10, pixels=2, seed=0):
        super().__init__()
        self.base, self.background, self.degrees, self.pixels = base, background, degrees, pixels
        self.rng = np.random.default_rng(seed)

    def __getitem__(self, index):
        image, label = self.base[index]
        picture = Image.fromarray(image.reshape(28, 28))  # float32 -> mode "F", values unchanged
        dx, dy = self.rng.integers(-self.pixels, self.pixels + 1, 2)
        moved = picture.rotate(self.rng.uniform(-self.degrees, self.degrees), resample=Image.Resampling.BILINEAR,
                               translate=(int(dx), int(dy)), fillcolor=self.background)
        return np.asarray(moved, dtype=np.float32).reshape(image.shape), label

    def __len__(self):
        return len(self.base)


# %%
print("4. data augmentation for the CNN")
cnn_train, cnn_test = split("train", IMAGE, count), split("eval", IMAGE)
background = float(cnn_train[0][0].min())
cnn_accuracy = {}  # training images: test accuracy
for name, dataset in (("plain", cnn_train), ("shifted + rotated", Augmented(cnn_train, background, seed=seed))):
    seed_everything(seed)
    model = trained(build_model("cnn", 10), dataset, None, max(1, epochs // 2))
    cnn_accuracy[name] = accuracy(model, cnn_test)
    print(f"   {name:18s}: test accuracy {100 * cnn_accuracy[name]:.2f}%")
record(out, gap_no_dropout=dropout_accuracy[0.0][0] - dropout_accuracy[0.0][1],
       gap_dropout=dropout_accuracy[0.5][0] - dropout_accuracy[0.5][1], test_no_dropout=dropout_accuracy[0.0][1],
       test_dropout=dropout_accuracy[0.5][1], stopped_after=len(best_epoch.losses), best_epoch=best + 1,
       test_best_epoch=best_test, test_last_epoch=last_test, cv_width=chosen, cv_test=chosen_test,
       test_plain=cnn_accuracy["plain"], test_augmented=cnn_accuracy["shifted + rotated"])  # for the lab report


# %% [markdown] lang="en"
# ## How this lab differs from the course
# The course meets over-fitting in 【手写数字识别】之训练调试与优化 (lab 07: L2 decay and dropout), training
# on all 50,000 training images. This lab follows study notes on generalisation instead and takes four of
# their tools one at a time: dropout, early stopping, K-fold cross-validation, data augmentation. To make
# over-fitting show within a few epochs it trains on the first 10,000 training images only (2,000 for
# validation), with `paddle.Model.fit` (lab 10) and Adam at 0.001; the CNN of section 4 is lab 03's.

# %% [markdown] lang="zh"
# ## 与课程的不同
# 课程在【手写数字识别】之训练调试与优化中接触过拟合（实验 07：L2 正则和 Dropout），用的是全部 50,000 张训练
# 图片。本实验照的是关于泛化的学习笔记，把其中的四种方法逐个试一遍：Dropout、提前停止、K 折交叉验证、数据
# 增强。为了几轮之内就能看到过拟合，只用前 10,000 张训练图片（验证用 2,000 张），用 `paddle.Model.fit`
# （实验 10）和 Adam（学习率 0.001）训练；第 4 节的 CNN 是实验 03 的。
