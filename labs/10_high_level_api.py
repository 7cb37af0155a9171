# %% [markdown]
# # Lab 10 · 高层API: the same CNN with paddle.Model instead of a hand-written loop
#
# Not a section of the course's chapter 2: its labs write every loop by hand. Paddle's high-level API
# (the "高层API" of Paddle's own quick start, used in the course's later chapters) wraps a network as
# `paddle.Model(net)`; `model.prepare(optimizer, loss, paddle.metric.Accuracy())` sets what the loop
# needs, and `model.fit`, `model.evaluate` and `model.predict` run it. Callbacks take what the
# hand-written loop does by hand: progress logging, checkpoints, early stopping, stepping the
# learning-rate schedule, VisualDL. It reads the same data through the `paddle.io.Dataset` variant of the
# loader. The lab trains both ways with the same settings and compares eval accuracy and time per epoch;
# the hand-written loop is the library's (`digits.training.fit`), the one the earlier labs wrote out.
#
# **Choices, and why.**
# - Adam, lr 0.001 decaying to 0.0001 over the run, batch 100, 3 epochs: `train.py`'s default (the
#   course's best classifier) with a polynomial decay, which shows the `LRScheduler` callback at work.
# - Both run the CNN on oneDNN's conv kernels (`digits.onednn.accelerate`; `onednn = False`: Paddle's own).
# - The two see the images in different orders, so the check is that both reach about the same
#   accuracy, not the same weights: `paddle.Model.fit` shuffles with a `DistributedBatchSampler` that
#   seeds each epoch with its number (`np.random.RandomState(epoch)`), whatever `seed` says; the
#   course's loader draws from the seeded global NumPy RNG. With seed 0 the first epoch's order
#   happens to be the same (one epoch, `quick`: identical weights); later epochs differ.
#
# As a script: `python labs/10_high_level_api.py` (`--help` lists its flags).

# %%
import time

import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
from digits.data import IMAGE
from digits.dataset import MnistDataset
from digits.errors import UserError
from digits.lab import lab_setup, record
from digits.onednn import accelerate
from digits.training import TrainConfig, fit, seed_everything
from models.cnn import CNN

# %% tags=["parameters"]
epochs = 3  # passes over the training set, for both ways of training
seed = 0  # fixes the initial weights (and the hand-written loop's shuffle)
onednn = True  # run the conv layers on oneDNN's kernels; False: Paddle's own, as the course ran them
visualdl = False  # add the VisualDL callback (pip install visualdl)
quick = False  # one epoch only: a smoke test, as CI runs the labs

# %%
out = lab_setup("lab10", globals())  # a script's flags replace the values above; out = runs/lab10/<time>

# %% [markdown]
# ## The data as a Dataset
# `paddle.Model` takes a `paddle.io.Dataset`: an object that gives one (image, label) pair per index and
# its length; `fit` batches and shuffles it itself. The arrays are the course's file, as in every lab.

# %%
train_set, valid_set, eval_set = (MnistDataset(mode, image_shape=IMAGE, label_dtype="int64")
                                  for mode in ("train", "valid", "eval"))
print(f"{len(train_set)} training images; one pair: image {train_set[0][0].shape}, label {train_set[0][1]}")

# %% [markdown]
# ## Wrap the network, and prepare it
# `paddle.Model` wraps the course CNN; the `InputSpec`s name the shapes and types of what a batch holds.
# `prepare` takes what the hand-written loop spells out: the optimizer (here with its learning-rate
# schedule), the loss, and the metric to report.

# %%
seed_everything(seed)
model = paddle.Model(accelerate(CNN(10)),
                     inputs=[paddle.static.InputSpec([None, *IMAGE], "float32", "image")],
                     labels=[paddle.static.InputSpec([None, 1], "int64", "label")])
steps = epochs * -(-len(train_set) // 100)
schedule = paddle.optimizer.lr.PolynomialDecay(learning_rate=0.001, decay_steps=steps, end_lr=0.0001)
model.prepare(paddle.optimizer.Adam(learning_rate=schedule, parameters=model.parameters()),
              paddle.nn.CrossEntropyLoss(), paddle.metric.Accuracy())

# %% [markdown]
# ## Callbacks: the loop's bookkeeping
# `fit` calls each callback at the start and end of every batch and epoch. These four do what earlier
# labs wrote by hand: print the loss and accuracy (`ProgBarLogger`), save the weights and optimizer after
# every epoch (`ModelCheckpoint`, lab 08's `paddle.save`), stop when the valid accuracy stops improving
# (`EarlyStopping`), and step the learning-rate schedule after every batch (`LRScheduler`).

# %%
def visualdl_callback(folder):
    try:
        import visualdl  # noqa: F401  (paddle.callbacks.VisualDL imports it when training starts)
    except ImportError:
        raise UserError("visualdl = True needs the optional visualdl package: pip install visualdl") from None
    return paddle.callbacks.VisualDL(log_dir=folder)


callbacks = [paddle.callbacks.ProgBarLogger(log_freq=100, verbose=2),
             paddle.callbacks.ModelCheckpoint(save_freq=1, save_dir=f"{out}/checkpoints"),
             paddle.callbacks.EarlyStopping(monitor="acc", mode="max", patience=1, save_best_model=False),
             paddle.callbacks.LRScheduler(by_step=True, by_epoch=False)]
if visualdl:
    callbacks.append(visualdl_callback(f"{out}/visualdl"))

# %% [markdown]
# ## fit, evaluate, predict
# One call trains (with the valid split measured after each epoch), one evaluates on the eval split, one
# returns the network's outputs: the ten scores per image, whose largest is the predicted digit.

# %%
started = time.perf_counter()
model.fit(train_set, valid_set, batch_size=100, epochs=epochs, shuffle=True, verbose=0, callbacks=callbacks)
high_level_seconds = (time.perf_counter() - started) / epochs
high_level_accuracy = model.evaluate(eval_set, batch_size=500, verbose=0)["acc"]
first_scores = model.predict(paddle.io.Subset(eval_set, range(10)), batch_size=10, verbose=0)[0][0]
print(f"paddle.Model.predict on 10 eval digits: {np.argmax(first_scores, axis=1).tolist()} "
      f"(labels {[int(eval_set[i][1][0]) for i in range(10)]})")

# %% [markdown]
# ## The hand-written loop, for comparison
# The library's `fit` runs lab 02's loop with the same settings (it draws its loss live, too).

# %%
started = time.perf_counter()
hand = fit(TrainConfig(model="cnn", loss="ce", optimizer="adam", lr=0.001, lr_schedule="polynomial",
                       epochs=epochs, seed=seed, out=f"{out}/hand-written"), lambda: CNN(10))
hand_seconds = (time.perf_counter() - started) / epochs

# %% [markdown]
# ## Side by side
# About the same accuracy: the same steps, written once for every model in the high-level API (they see
# the images in different orders, so not the same weights). The seconds per epoch include what each does
# besides training: the library's `fit` also evaluates the eval split, writes its run folder and draws
# its figures.

# %%
print(f"{'':22s} {'eval acc':>9s} {'s/epoch':>8s}  (train + valid each epoch)")
print(f"{'paddle.Model':22s} {100 * high_level_accuracy:8.2f}% {high_level_seconds:8.1f}")
print(f"{'hand-written loop':22s} {100 * hand.eval['accuracy']:8.2f}% {hand_seconds:8.1f}")
record(out, high_level_accuracy=high_level_accuracy, hand_written_accuracy=hand.eval["accuracy"],
       predict_correct=sum(int(np.argmax(first_scores[i])) == int(eval_set[i][1][0])
                           for i in range(10)))  # for the lab report
