# %% [markdown] lang="en"
# # Lab 08 · 恢复训练: resuming training exactly where it stopped
#
# - **Course:** 【手写数字识别】之恢复训练 (the course's Lab 9).
# - **You build:** the course's loop that saves the model's and the optimizer's state after every epoch
#   (`paddle.save`) and its resume (`paddle.load`, `set_state_dict`); then the same with `train.py
# --stop-after` and `--resume`.
# - **You will see:** a run stopped halfway and resumed whose losses and final weights equal an
#   uninterrupted run's bit for bit, and the library's stopped and resumed run ending on the same weights.
#
# As a script: `python labs/08_resume.py` (`--help` lists its flags).

# %% [markdown] lang="zh"
# # 实验 08 · 恢复训练：从中断的地方精确地接着训练
#
# - **对应课程章节**：【手写数字识别】之恢复训练（课程第 9 节）。
# - **本实验要做的**：课程的训练循环，每一轮之后用 `paddle.save` 保存模型和优化器的状态；以及它的恢复方法
#   （`paddle.load`、`set_state_dict`）。然后用 `train.py --stop-after` 和 `--resume` 做同样的事。
# - **你会看到**：训练到一半停下、再恢复，它的损失和最终权重与不中断的训练逐位相同；共享库停下再恢复的训练，
#   最终也得到同样的权重。
#
# 作为脚本运行：`python labs/08_resume.py`（`--help` 列出所有参数）。

# %%
import os
import pickle
import subprocess
import sys

import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
import paddle.nn.functional as F
from digits.data import batches_per_epoch, load_course_data, load_data
from digits.errors import UserError
from digits.lab import lab_setup, record
from digits.onednn import accelerate
from digits.plots import LiveCurves
from digits.runs import Run, read_weights
from digits.training import seed_everything, train_step
from models.cnn import CNN

# %% tags=["parameters"]
epochs = 4  # passes over the training set of the uninterrupted run; the other stops after half of them
seed = 0  # fixes the initial weights and the shuffle of the uninterrupted and the stopped run
onednn = True  # run the conv layers on oneDNN's kernels; False: Paddle's own, as the course ran them
quick = False  # two epochs only (one before the stop, one after): a smoke test, as CI runs the labs

# %%
out = lab_setup("lab08", globals())  # a script's flags replace the values above; out = runs/lab08/<time>
epochs = max(epochs, 2)  # at least one epoch before and one after the interruption
half = epochs // 2
BATCH_SIZE, LR, END_LR, LOG_EVERY = 100, 0.01, 0.001, 200
batches = batches_per_epoch(len(load_course_data()["train"][0]), BATCH_SIZE)
total_steps = epochs * batches

# %% [markdown] lang="en"
# ## Build a run
# What the course's script builds at its start: the network, the learning-rate schedule and the
# optimizer that steps it. The course's setting: the CNN, Momentum 0.9, the learning rate decaying
# polynomially from 0.01 to 0.001 over the run. Each run below calls this anew, as a new process would.

# %% [markdown] lang="zh"
# ## 构建一次训练
# 课程的脚本在开头构建的东西：网络、学习率策略，以及使用这个学习率策略的优化器。课程的设置：CNN，Momentum 0.9，
# 学习率在整个训练过程中按多项式从 0.01 衰减到 0.001。下面每一次训练都重新调用它，就像一个新进程那样。

# %%
def build(seed, total_steps):
    """A new model, schedule and optimizer, as the course's script builds them at its start."""
    seed_everything(seed)
    model = accelerate(CNN(10))
    schedule = paddle.optimizer.lr.PolynomialDecay(learning_rate=LR, decay_steps=total_steps, end_lr=END_LR)
    opt = paddle.optimizer.Momentum(learning_rate=schedule, momentum=0.9, parameters=model.parameters())
    return model, schedule, opt


# %% [markdown] lang="en"
# ## Train, saving after every epoch
# A long run can be cut short (a closed notebook, a session limit). The course's `Trainer.train` saves
# after each epoch: `paddle.save` writes the model's `state_dict()` and the optimizer's to
# `checkpoint/mnist_epoch{i}.pdparams` and `.pdopt`. To resume bit for bit, everything that decides the
# next step must come back:
# - the weights (`.pdparams`) and the optimizer's state (`.pdopt`): Momentum's velocities and, inside it
#   under `"LR_Scheduler"`, the schedule's position (`last_epoch`, `last_lr`);
# - the random generators: the loader shuffles with NumPy's global RNG and dropout draws from Paddle's,
#   so a pickle of their states goes beside (`.rng`).
#
# Every batch's loss goes on the live figure under `label`.

# %% [markdown] lang="zh"
# ## 训练，每一轮之后保存
# 长时间的训练可能中途被打断（笔记本被关掉，会话到了时限）。课程的 `Trainer.train` 在每一轮之后保存：
# `paddle.save` 把模型的 `state_dict()` 和优化器的 `state_dict()` 写入 `checkpoint/mnist_epoch{i}.pdparams` 和
# `.pdopt`。要做到逐位相同地恢复，凡是决定下一步的东西都必须恢复：
# - 权重（`.pdparams`）和优化器的状态（`.pdopt`）：Momentum 的速度（velocity），以及保存在其中
#   `"LR_Scheduler"` 下的学习率策略进度（`last_epoch`、`last_lr`）；
# - 随机数生成器：数据加载器用 NumPy 的全局随机数生成器打乱数据，Dropout 用 Paddle 的随机数生成器，
#   所以把它们的状态用 pickle 保存在旁边（`.rng`）。
#
# 每个 batch 的损失都以 `label` 为名画到实时图上。

# %%
def train(model, opt, schedule, start_epoch, end_epoch, save_path, live, label):
    """The course's Trainer.train: epochs start_epoch..end_epoch-1, saving the state after each one.
    Returns every batch's loss."""
    train_loader = load_data("train", BATCH_SIZE, image_shape=CNN.input_shape, label_dtype="int64")
    os.makedirs(save_path, exist_ok=True)
    losses = []
    for epoch in range(start_epoch, end_epoch):
        for batch, (images, labels) in enumerate(train_loader()):
            _, loss = train_step(model, opt, paddle.to_tensor(images), paddle.to_tensor(labels), F.cross_entropy)
            schedule.step()  # the course forgets this line (see the end of the lab)
            losses.append(float(loss))
            live.add(label, epoch * batches + batch, losses[-1])
            if batch % LOG_EVERY == 0:
                print(f"epoch: {epoch}, batch: {batch}, loss is: {losses[-1]:.4f}, lr: {opt.get_lr():.6f}")
        paddle.save(model.state_dict(), f"{save_path}/mnist_epoch{epoch}.pdparams")
        paddle.save(opt.state_dict(), f"{save_path}/mnist_epoch{epoch}.pdopt")  # holds the schedule's state too
        with open(f"{save_path}/mnist_epoch{epoch}.rng", "wb") as f:
            pickle.dump({"numpy": np.random.get_state(), "paddle": paddle.get_rng_state()}, f)
    return losses


# %% [markdown] lang="en"
# ## Resume
# The course's resume builds the model and optimizer anew: `paddle.load` reads an epoch's files back into
# dictionaries, and `model.set_state_dict` and `opt.set_state_dict` copy them in; the random generators
# get their saved states back.

# %% [markdown] lang="zh"
# ## 恢复
# 课程恢复时重新构建模型和优化器：`paddle.load` 把某一轮的文件读回成字典，`model.set_state_dict` 和
# `opt.set_state_dict` 把它们复制进去；随机数生成器也恢复到保存时的状态。

# %%
def resume(model, opt, save_path, epoch):
    """The course's resume: load an epoch's files into a freshly built model and optimizer."""
    model.set_state_dict(paddle.load(f"{save_path}/mnist_epoch{epoch}.pdparams"))
    opt.set_state_dict(paddle.load(f"{save_path}/mnist_epoch{epoch}.pdopt"))
    with open(f"{save_path}/mnist_epoch{epoch}.rng", "rb") as f:
        rng = pickle.load(f)
    np.random.set_state(rng["numpy"])
    paddle.set_rng_state(rng["paddle"])


def weights(state):
    return {key: value.numpy() for key, value in state.items()}


def max_difference(weights, other):
    return max(float(np.abs(weights[key] - other[key]).max()) for key in weights)


# %% [markdown] lang="en"
# ## Straight through, then stopped and resumed
# Three runs, each built anew inside `paddle.utils.unique_name.guard()` (parameter names as in a fresh
# process):
# 1. all epochs without a break;
# 2. the same seed, stopped after half of them: its last files are the checkpoint to resume from;
# 3. a run built with *another* seed (other initial weights, another shuffle), so that everything that
#    matters must come from the files, resumed from run 2's last epoch and trained to the end.
#
# On the figure the stopped run and then the resumed one are drawn over the uninterrupted run's losses:
# if the resume is exact they hide it completely.

# %% [markdown] lang="zh"
# ## 不中断训练，与停下后再恢复
# 三次训练，每次都在 `paddle.utils.unique_name.guard()` 里重新构建（参数名与全新进程中的相同）：
# 1. 不中断地训练全部轮数；
# 2. 同样的随机种子，训练一半后停下：它最后保存的文件就是用来恢复的检查点；
# 3. 用*另一个*随机种子构建（初始权重不同，打乱顺序也不同），这样所有要紧的东西都只能来自文件；
#    从第 2 次训练最后一轮的文件恢复，一直训练到结束。
#
# 图中，先是停下的那次训练，再是恢复的那次训练，画在不中断训练的损失曲线上面：如果恢复是精确的，
# 它们会把后者完全盖住。

# %%
live = LiveCurves("train loss per batch: uninterrupted vs stopped and resumed", ylabel="cross-entropy loss", logy=True)

print(f"--- 1. {epochs} epochs without a break ---")
with paddle.utils.unique_name.guard():
    model, schedule, opt = build(seed, total_steps)
    straight = train(model, opt, schedule, 0, epochs, f"{out}/checkpoint", live, "uninterrupted")
    straight_weights = weights(model.state_dict())

print(f"--- 2. a new run, stopped after epoch {half - 1} ---")
with paddle.utils.unique_name.guard():
    model, schedule, opt = build(seed, total_steps)
    before = train(model, opt, schedule, 0, half, f"{out}/checkpoint_stopped", live, f"stopped after epoch {half - 1}")

print(f"--- 3. resumed from checkpoint_stopped/mnist_epoch{half - 1}.* ---")
with paddle.utils.unique_name.guard():
    model, schedule, opt = build(seed + 1, total_steps)  # another seed: only the files can make it match
    resume(model, opt, f"{out}/checkpoint_stopped", half - 1)
    print(f"restored: scheduler step {schedule.last_epoch}, learning rate {opt.get_lr():.6f}")
    after = train(model, opt, schedule, half, epochs, f"{out}/checkpoint_con", live, f"resumed at epoch {half}")
    resumed_weights = weights(model.state_dict())
print(f"loss curves: {live.save(f'{out}/losses.png')}")

# %% [markdown] lang="en"
# ## Bit for bit?
# The stopped run's losses followed by the resumed run's, against the uninterrupted run's: equal to the
# last bit, and so are the final weights. The learning rate ends at 0.001: the schedule resumed at its step.

# %% [markdown] lang="zh"
# ## 逐位相同吗？
# 停下的训练的损失，接上恢复后训练的损失，与不中断训练的损失对比：直到最后一位都相等，最终权重也一样。
# 学习率最后是 0.001：学习率策略从停下的那一步接着走。

# %%
expected, got = np.array(straight), np.array(before + after)
print(f"this lab's loop: {len(expected)} batch losses; max |straight - resumed| = {np.abs(expected - got).max():.3g} "
      f"(bit for bit: {np.array_equal(expected, got)}); max weight difference "
      f"{max_difference(straight_weights, resumed_weights):.3g}; learning rate at the end: {opt.get_lr():.6f}")

# %% [markdown] lang="en"
# ## The same with the library
# `train.py`'s run folder keeps one checkpoint unit (weights, optimizer, RNG states) and `--resume`
# restores all of it. Each call runs in its own process, as a user would start it: `--stop-after`
# ends the first halfway, and `--resume` continues it to the end. Its logged losses and final weights
# should equal this lab's uninterrupted loop's.
#
# The library does not use `paddle.save` for this. `paddle.save` writes a pickle, and `paddle.load` unpickles
# it: unpickling runs whatever code the file names. That is fine for files you wrote yourself, as above, but a
# run folder is something students share ("my trained model"). So `train.py` keeps the same state as plain
# data: arrays in `.npz` files read with `numpy.load(..., allow_pickle=False)`, the rest in JSON. Loading such
# a folder cannot run code, whoever made it.

# %% [markdown] lang="zh"
# ## 用共享库做同样的事
# `train.py` 的运行文件夹保留一个检查点单元（权重、优化器、随机数状态），`--resume` 会把它们全部恢复。每次调用
# 都在自己的进程中运行，就像用户自己启动的那样：`--stop-after` 让第一次训练在一半处结束，`--resume` 把它继续
# 训练到结束。它记录下来的损失和最终权重，应当与本实验不中断的训练循环完全相同。
#
# 共享库保存这些状态时不用 `paddle.save`。`paddle.save` 写出的是 pickle 文件，`paddle.load` 读取时要反序列化
# （unpickle），而反序列化会执行文件里指定的任何代码。读自己写的文件没有问题，就像上面那样；可运行文件夹是同学之间
# 会互相分享的东西（“我训练好的模型”）。所以 `train.py` 把同样的状态存成纯数据：数组放在 `.npz` 文件里，用
# `numpy.load(..., allow_pickle=False)` 读取，其余的存成 JSON。不管是谁做的运行文件夹，读取它都不会执行任何代码。

# %%
def train_py(flags):
    """Run train.py as a user would, in its own process (with this process's thread count: digits.onednn
    keeps Paddle's import-time OMP_NUM_THREADS=1 out of the environment children inherit). Its output is
    printed line by line as it comes: a notebook does not show what a child process writes itself."""
    sys.stdout.flush()
    child = subprocess.Popen([sys.executable, os.path.join(digits.PROJECT_ROOT, "train.py"), *flags],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                             env={**os.environ, "PYTHONUNBUFFERED": "1"})  # each line as soon as it is printed
    for line in child.stdout:
        print(line, end="", flush=True)
    if child.wait() != 0:
        raise UserError(f"train.py {' '.join(flags)} failed (exit code {child.returncode})")


# %%
print(f"--- 4. the same with the library: train.py --stop-after {half}, then --resume ---")
run = f"{out}/train.py-run"
flags = ["--model", "cnn", "--loss", "ce", "--optimizer", "momentum", "--lr", str(LR), "--lr-schedule",
         "polynomial", "--epochs", str(epochs), "--batch-size", str(BATCH_SIZE), "--seed", str(seed),
         "--out", run, "--stop-after", str(half)] + ([] if onednn else ["--no-onednn"])
train_py(flags)
train_py(["--resume", run])
library_weights = read_weights(Run(run).model_file())  # model.npz: plain arrays, no pickle
logged = Run.open(run).records("batch")
same_losses = all(record["loss"] == straight[record["step"]] for record in logged)
print(f"train.py, stopped and resumed: its {len(logged)} logged losses equal this lab's uninterrupted loop's: "
      f"{same_losses}; max weight difference {max_difference(straight_weights, library_weights):.3g}")
record(out, losses_equal=np.array_equal(expected, got),
       weights_equal=max_difference(straight_weights, resumed_weights) == 0, final_lr=opt.get_lr(),
       library_equal=same_losses and max_difference(straight_weights, library_weights) == 0,
       library_eval_accuracy=Run.open(run).records("eval")[-1]["accuracy"])  # for the lab report

# %% [markdown] lang="en"
# ## How this lab differs from the course
# - The schedule is stepped after every batch. The course never calls `lr.step()`, so its learning
#   rate stays at 0.01 and its `.pdopt` saves an unused schedule; stepping it is what makes restoring
#   the schedule matter (the test: the learning rate at the end is 0.001).
# - Batch 100 with a seeded shuffle (`seed_everything`), not the course's batch 32 without shuffling:
#   the project's batch, and the shuffle makes restoring the RNG part of the lesson. The course's
#   `Uniform[-1, 1]` global initializer is not used (Paddle's default, as in every other lab).
# - The course's `train()` saves the global `model` and `opt`, not the trainer's own; here the loop saves
#   what it trains. The course resumes in the notebook's process; Paddle 3 names parameters and
#   optimizer slots by a process-wide counter and `opt.set_state_dict` asserts the names match, so each
#   run here is built inside `paddle.utils.unique_name.guard()`, as a fresh process would be.
# - At least 2 epochs (one before the interruption, one after), also with `quick`.
# - The library keeps one checkpoint unit per run (`RUN/checkpoints/epoch-NNNN/`: weights, optimizer,
#   RNG states, epoch and step, with a manifest, written atomically, the two newest kept) instead of
#   two loose files per epoch: a kill mid-write then never leaves a half-written pair, and `--resume`
#   finds the newest good one by itself.

# %% [markdown] lang="zh"
# ## 与课程的不同
# - 每个 batch 之后都让学习率策略 step 一次。课程从未调用 `lr.step()`，所以它的学习率一直是 0.01，
#   `.pdopt` 保存的是一个没用上的学习率策略；让它真正走起来，恢复学习率策略才有意义（检验方法：训练结束时
#   学习率是 0.001）。
# - batch 100，用设了随机种子的打乱（`seed_everything`），而不是课程的 batch 32 且不打乱：100 是本项目统一的
#   batch，而且有了打乱，恢复随机数生成器的状态也成了本课内容的一部分。没有使用课程的全局初始化
#   `Uniform[-1, 1]`（用 Paddle 的默认初始化，和其他所有实验一样）。
# - 课程的 `train()` 保存的是全局的 `model` 和 `opt`，而不是训练器自己的；这里的循环保存的就是它正在训练的。
#   课程在笔记本的同一个进程里恢复训练；Paddle 3 用一个进程级的计数器给参数和优化器的状态槽命名，而
#   `opt.set_state_dict` 会断言名字一致，所以这里每次训练都在 `paddle.utils.unique_name.guard()` 里构建，
#   就像在一个全新的进程中一样。
# - 至少训练 2 轮（中断前一轮，中断后一轮），`quick` 模式也是如此。
# - 共享库每次运行只保留一个检查点单元（`RUN/checkpoints/epoch-NNNN/`：权重、优化器、随机数状态、轮次和步数，
#   附一个清单文件，以原子方式写入，保留最新的两个），而不是每轮两个零散的文件。这样即使写到一半被杀掉，也不会
#   留下只写了一半的一对文件，`--resume` 也能自己找到最新的完好检查点。
