# %% [markdown] lang="en"
# # Lab 15 · 99% on two CPU cores: a speed ladder
#
# - **Source:** not in the course: this project's own ladder, starting from exactly the course's program.
# - **You build:** rungs from the course's program (its JSON loader, Paddle's own conv kernels, Adam 0.001) to
#   99% eval accuracy as fast as this CPU allows, one change per rung, each rung trained from several seeds.
# - **You will see:** each rung's time and accuracy as mean ± standard deviation, in a table and a figure: what
#   each change buys, and whether a gain is larger than the run-to-run spread.
#
# As a script: `python labs/15_speed_ladder.py` (`--help` lists its flags); in full it trains 21 times.

# %% [markdown] lang="zh"
# # 实验 15 · 两个 CPU 核心上达到 99%：速度阶梯
#
# - **来源**：课程中没有：这是本项目自己的阶梯，从与课程完全相同的程序出发。
# - **本实验要做的**：从课程的程序（课程的 JSON 读取器、Paddle 自带的卷积内核、Adam 0.001）出发，一级一级地
#   在这台 CPU 允许的范围内尽快把 eval 准确率提升到 99%，每一级只改一处，每一级都用几个随机种子分别训练。
# - **你会看到**：表和图中每一级的用时和准确率，都写成均值 ± 标准差：每处改动带来了什么，提升是否大于各次
#   运行之间本来就有的波动。
#
# 作为脚本运行：`python labs/15_speed_ladder.py`（`--help` 列出所有参数）；完整运行要训练 21 次。

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
import paddle.nn.functional as F
from digits import courseloader
from digits.data import IMAGE, batches_per_epoch, load_course_data, load_data
from digits.errors import UserError
from digits.lab import lab_setup, record
from digits.onednn import accelerate, use_onednn
from digits.plots import log_axis, save
from digits.prepare import ensure_datafile
from digits.training import evaluate, make_schedule, seed_everything, train_step
from models import build_model

# %% tags=["parameters"]
seeds = [0, 1, 2]  # each rung trains once per seed; the table shows mean ± std over them
quick = False  # one epoch per rung and two seeds: a smoke test, as CI runs the labs

# %%
out = lab_setup("lab15", globals())  # a script's flags replace the values above; out = runs/lab15/<time>
if quick:
    seeds = seeds[:2]
if len(set(seeds)) < 2:
    raise UserError(f"seeds = {seeds}: give at least two different seeds (the table shows each rung's spread)")
datafile = ensure_datafile()
batches = batches_per_epoch(len(load_course_data(datafile)["train"][1]), 100)  # of 100, the last one smaller

# %% [markdown] lang="en"
# ## The rungs
# A rung is a few plain settings; each rung copies the one above it and changes one thing:
#
# | rung | change | what it buys |
# | --- | --- | --- |
# | 0 | the course's program, one epoch | the baseline |
# | 1 | the library's loader (lab 01): the JSON parsed once and cached as arrays, a batch is a slice | no parse, no per-sample `np.array` |
# | 2 | oneDNN's convolutions (`digits.onednn.accelerate(model, fuse=False)`), on both cores | the kernels PyTorch uses |
# | 3 | each conv → ReLU → pool stage as one oneDNN call (`accelerate`'s default, `digits/fusion.py`) | fewer layout conversions |
# | 4 | four epochs | accuracy, at the fast rung's price per epoch |
# | 5 | a one-cycle learning rate peaking at 0.005 (`--lr-schedule onecycle`) | big steps in the middle, small at the end |
# | 6 | training images shifted by up to one pixel, anew each epoch (`--shift 1`) | digits are not always centred |
#
# Rung 6 is `python train.py --preset minute`.

# %% [markdown] lang="zh"
# ## 各级阶梯
# 每一级只是几个简单的设置；每一级复制上一级的设置，只改其中一项：
#
# | 级 | 改动 | 带来什么 |
# | --- | --- | --- |
# | 0 | 课程的程序，训练一轮 | 基线 |
# | 1 | 共享库的数据读取器（实验 01）：JSON 只解析一次，缓存为数组，一个 batch 就是一个切片 | 不再解析文件，也不再逐个样本调用 `np.array` |
# | 2 | oneDNN 的卷积（`digits.onednn.accelerate(model, fuse=False)`），用上两个核心 | PyTorch 用的那套内核 |
# | 3 | 每个 conv → ReLU → pool 阶段合成一次 oneDNN 调用（`accelerate` 的默认做法，`digits/fusion.py`） | 更少的内存布局转换 |
# | 4 | 训练四轮 | 准确率更高，每轮的代价仍是最快那一级的 |
# | 5 | one-cycle 学习率策略，峰值 0.005（`--lr-schedule onecycle`） | 中间步子大，最后步子小 |
# | 6 | 训练图片每轮重新随机平移最多一个像素（`--shift 1`） | 数字并不总在正中间 |
#
# 第 6 级就是 `python train.py --preset minute`。

# %%
course = {"loader": "course", "onednn": False, "fuse": False, "model": "cnn", "epochs": 1, "lr": 0.001,
          "schedule": "constant", "shift": 0}
changes = [
    ("the course's program, one epoch", {}),
    ("+ cached arrays, sliced batches", {"loader": "library"}),
    ("+ oneDNN convolutions", {"onednn": True}),
    ("+ fused conv-relu-pool stages", {"fuse": True}),
    ("+ four epochs", {"epochs": 4}),
    ("+ one-cycle schedule, peak 0.005", {"lr": 0.005, "schedule": "onecycle"}),
    ("+ shifts of up to 1 pixel", {"shift": 1}),
]
rungs, settings = [], dict(course)
for name, change in changes:
    settings = {**settings, **change}
    rungs.append((name, settings))
if quick:
    rungs = [(name, {**s, "epochs": 1}) for name, s in rungs]

# %% [markdown] lang="en"
# ## One run of a rung
# The course's training loop (lab 02's five lines, as `train_step`), with each rung's settings deciding
# the loader, the kernels, the model and the learning rate. The course's loader gives labels `[B]` as
# floats; a classifier wants int64 `[B, 1]`, as lab 04 changed them. The time is the wall clock from creating
# the loader to the last training step, the data's loading included; the final evaluation on the 10,000 eval
# images is not timed.

# %% [markdown] lang="zh"
# ## 某一级的一次运行
# 课程的训练循环（实验 02 的五行，即 `train_step`），由每一级的设置决定用哪个数据读取器、哪套内核、
# 哪个模型和怎样的学习率。课程的读取器给出的标签是浮点数，形状为 `[B]`；分类器要的是 int64 的 `[B, 1]`，
# 和实验 04 的改法一样。用时是实际经过的时间（wall clock），从创建数据读取器算到最后一步训练，包括数据加载；
# 最后在 10,000 张 eval 图片上的评估不计时。

# %%
def train_rung(settings, seed):
    """Train one rung's settings from `seed`; return (seconds from loader to last step, eval accuracy)."""
    seed_everything(seed)
    use_onednn(settings["onednn"])
    started = time.perf_counter()
    if settings["loader"] == "course":   # parses the JSON now; every batch built image by image
        train_loader = courseloader.load_data("train", datafile)
    else:                                # arrays cached beside the file; a batch is a slice (shifts: numpy)
        train_loader = load_data("train", 100, image_shape=IMAGE, label_dtype="int64", datafile=datafile,
                                 shift=settings["shift"])
    model = build_model(settings["model"], 10)
    accelerate(model, fuse=settings["fuse"])  # leaves the model alone when use_onednn(False)
    schedule = make_schedule(settings["schedule"], settings["lr"], settings["epochs"] * batches, batches)
    optimizer = paddle.optimizer.Adam(learning_rate=schedule, parameters=model.parameters())
    for epoch in range(settings["epochs"]):
        for images, labels in train_loader():
            images = paddle.to_tensor(images.reshape(-1, *IMAGE))
            labels = paddle.to_tensor(labels.reshape(-1, 1).astype("int64"))
            train_step(model, optimizer, images, labels, F.cross_entropy)
            if not isinstance(schedule, float):
                schedule.step()          # the one-cycle rate changes every batch
    seconds = time.perf_counter() - started
    accuracy = evaluate(model, load_data("eval", 500, image_shape=IMAGE, label_dtype="int64", datafile=datafile),
                        "ce")["accuracy"]
    return seconds, accuracy


def spread(values, style):
    """'mean ± sample standard deviation' of a rung's runs."""
    return f"{style.format(values.mean())} ± {style.format(values.std(ddof=1))}"


# %% [markdown] lang="en"
# ## Climb
# Rung by rung, each seed in turn (so a rung's runs sit side by side in time, and a busy moment on the
# machine hits one rung's seeds rather than one seed's rungs). In full, 7 rungs from 3 seeds are 21 trainings.

# %% [markdown] lang="zh"
# ## 逐级攀登
# 一级一级地训练，每一级依次跑各个随机种子（这样同一级的几次运行在时间上挨在一起，机器某一阵子忙的时候，
# 影响的是同一级的几个种子，而不是同一个种子的几级）。完整运行是 7 级、3 个种子，共训练 21 次。

# %%
results = []   # per rung: {"seconds": [one per seed], "accuracy": [...]}
for index, (name, settings) in enumerate(rungs):
    runs = [train_rung(settings, seed) for seed in seeds]
    results.append({"seconds": np.array([s for s, _ in runs]), "accuracy": np.array([a for _, a in runs])})
    print(f"rung {index} {name:34s} {spread(results[-1]['seconds'], '{:.1f}')} s   eval accuracy "
          f"{spread(100 * results[-1]['accuracy'], '{:.2f}')}%", flush=True)

# %% [markdown] lang="en"
# ## The ladder
# Mean ± sample standard deviation over the seeds; "speed-up" divides rung 0's mean time by the rung's. Rungs
# 0-3 compute the same mathematics (oneDNN adds in another order, so the last digits of the floats differ):
# their accuracies should agree while only the time falls. Is each gain larger than the ± beside it? The
# figure puts each rung at its mean time and accuracy, numbered as in the table, with its name in the
# legend. The lab report (`report/README.md`) holds the full run's table and its wall time; README's "CPU
# speed" section times a whole epoch against PyTorch and says where the time of an epoch goes.

# %% [markdown] lang="zh"
# ## 阶梯表
# 各随机种子上的均值 ± 样本标准差；“speed-up”（加速比）等于第 0 级的平均用时除以该级的平均用时。第 0-3 级算的
# 是同样的数学（oneDNN 做加法的顺序不同，所以浮点数的最后几位不一样）：它们的准确率应该一致，只有用时在下降。
# 每一处提升是否大于旁边的 ± 波动？图中每一级画在它的平均用时和平均准确率处，编号与表中相同，名称见图例。
# 完整运行的阶梯表和总用时见实验报告（`report/README.md`）；README 的“CPU speed”一节把一整轮训练的用时与
# PyTorch 对比，并说明一轮的时间花在了哪里。

# %%
rows = ["| rung | change | epochs | time, s | speed-up | eval accuracy, % |", "| --- | --- | --- | --- | --- | --- |"]
for index, ((name, settings), result) in enumerate(zip(rungs, results)):
    speedup = results[0]["seconds"].mean() / result["seconds"].mean()
    rows.append(f"| {index} | {name} | {settings['epochs']} | {spread(result['seconds'], '{:.1f}')} | {speedup:.1f}x | "
                f"{spread(100 * result['accuracy'], '{:.2f}')} |")
table = "\n".join(rows) + f"\n\nMean ± std over {len(seeds)} seeds ({', '.join(map(str, seeds))}) per rung" + \
    ("; quick mode: one epoch each." if quick else ".")
print(table)
with open(f"{out}/table.md", "w", encoding="utf-8") as f:
    f.write(table + "\n")

fig, ax = plt.subplots(figsize=(7, 4))
for index, ((name, _), result) in enumerate(zip(rungs, results)):
    x, y = result["seconds"], 100 * result["accuracy"]
    ax.errorbar(x.mean(), y.mean(), xerr=x.std(ddof=1), yerr=y.std(ddof=1), fmt="o", capsize=3,
                label=f"{index}: {name}")  # the legend names each numbered point
    ax.annotate(str(index), (x.mean(), y.mean()), textcoords="offset points", xytext=(5, 5))
ax.axhline(99, color="grey", linestyle=":", linewidth=1)
log_axis(ax, "x")  # ticks read 20, 50, 100
ax.set_xlabel("wall time, s (log scale)")
ax.set_ylabel("eval accuracy, %")
ax.set_title("the speed ladder: each rung's mean ± std over the seeds")
ax.legend(title="rung", loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8)
print(f"figure: {save(fig, f'{out}/ladder.png')}")
record(out, course_seconds=results[0]["seconds"].mean(), course_accuracy=results[0]["accuracy"].mean(),
       fused_seconds=results[3]["seconds"].mean(), minute_seconds=results[-1]["seconds"].mean(),
       minute_accuracy=results[-1]["accuracy"].mean())  # for the lab report


# %% [markdown] lang="en"
# ## How this lab differs from the course
# This lab is not a section of the course: the course's chapter trains the CNN of lab 03 for 5 epochs and
# stays below 99% (the lab report, `report/README.md`, quotes the accuracy its text reports beside labs 04
# and 07). The ladder is this project's own. Its rung 0 is exactly the course's program (its JSON loader
# building each batch from per-sample arrays, Paddle's own conv kernels, Adam 0.001), but for one epoch
# rather than five, with the labels made int64 `[B, 1]` for the classifier as in lab 04; every rung above it
# changes one thing.

# %% [markdown] lang="zh"
# ## 与课程的不同
# 这不是课程里的某一节：课程这一章把实验 03 的 CNN 训练 5 轮，准确率没有达到 99%（课程正文给出的准确率，
# 见实验报告 `report/README.md` 中实验 04 和 07 的那两行）。这个阶梯是本项目自己的。第 0 级与课程的程序
# 完全相同（用课程的 JSON 读取器，每个 batch 由逐个样本的数组拼成；用 Paddle 自带的卷积内核；Adam 0.001），
# 只是训练一轮而不是五轮，标签和实验 04 一样改成分类器要的 int64 `[B, 1]`；往上每一级只改一处。
