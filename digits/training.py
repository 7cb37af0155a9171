"""The one training loop every lab and train.py share, and the evaluation that goes with it."""
import math
import random
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np
import paddle
import paddle.nn.functional as F

from .data import load_course_data, load_data
from .debug import Inspector
from .devices import parallel, select_device, world
from .errors import UserError
from .onednn import onednn_enabled, using_onednn
from .plots import loss_curve, plot_curves, plot_train_valid
from .prepare import ensure_datafile
from .runs import Run, new_run_path

LOSSES = ("mse", "ce", "sigmoid_ce")
OPTIMIZERS = ("sgd", "momentum", "adagrad", "adam")
SCHEDULES = ("constant", "polynomial", "onecycle")
MAX_SHIFT = 8  # pixels: a digit is about 20 pixels across, a bigger shift pushes it off the image
MAX_ROTATE = 30  # degrees: beyond that a 6 starts to look like a 9


@dataclass
class TrainConfig:
    model: str = "cnn"
    loss: str = "ce"            # mse: regress the digit's value; ce: softmax cross-entropy; sigmoid_ce: one
                                # sigmoid per digit against the one-hot label (Nielsen's cross-entropy cost)
    optimizer: str = "adam"
    lr: float = 0.001
    lr_schedule: str = "constant"  # polynomial: decay linearly from lr to lr/10 over the run, every batch;
                                   # onecycle: rise from lr/25 to lr over the first 30% of batches, then anneal
    shift: int = 0              # augment: move training images by up to this many pixels (digits.data.shifted)
    rotate: float = 0.0         # augment: turn training images by up to this many degrees (digits.data.rotated)
    epochs: int = 5
    batch_size: int = 100
    seed: int = 0
    weight_decay: float = 0.0   # L2 penalty coefficient (paddle.regularizer.L2Decay); 0 is none
    grad_clip: float = 0.0      # clip the gradients' global norm to this (ClipGradByGlobalNorm); 0 is none
    log_interval: int = 100     # print and record the loss every this many batches
    device: str = "auto"        # cpu, gpu, gpu:N, or auto (a GPU if there is one)
    debug_batch: int = None     # print layer shapes on the first batch, weights and outputs at this one
    visualdl: bool = False      # also log scalars for VisualDL, in <run>/visualdl
    out: str = None             # run folder; default runs/<time>-<model>-<loss>-<optimizer>
    data: str = None            # the course file; default work/mnist.json.gz (or MNIST_JSON)
    source: str = None          # folder of MNIST .gz files to build the course file from, if missing
    onednn: bool = None         # conv layers on oneDNN's kernels (digits.onednn); False: Paddle's own kernels;
                                # None: as set for the process (on, unless a lab's --no-onednn turned it off)


def seed_everything(seed):
    """One seed fixes Python's, NumPy's (the loader's shuffle) and Paddle's (weights, dropout) randomness."""
    random.seed(seed)
    np.random.seed(seed)
    paddle.seed(seed)


def make_schedule(name, lr, total_steps):
    """The learning rate: a number, or a scheduler the loop steps after every batch."""
    if name == "constant":
        return lr
    if name == "polynomial":
        return paddle.optimizer.lr.PolynomialDecay(learning_rate=lr, decay_steps=total_steps, end_lr=lr / 10)
    if name == "onecycle":  # Smith's one-cycle policy: warm up, then a cosine anneal to (almost) zero
        return paddle.optimizer.lr.OneCycleLR(max_learning_rate=lr, total_steps=total_steps, end_learning_rate=lr / 1e4)
    raise UserError(f"unknown learning-rate schedule {name!r}: choose one of {', '.join(SCHEDULES)}")


def make_optimizer(name, lr, parameters, weight_decay=0.0, grad_clip=0.0):
    """One of the course's optimizers; `weight_decay` adds an L2 penalty on every parameter and
    `grad_clip` caps the norm of each step's whole gradient."""
    options = {"learning_rate": lr, "parameters": parameters,
               "weight_decay": paddle.regularizer.L2Decay(weight_decay) if weight_decay else None,
               "grad_clip": paddle.nn.ClipGradByGlobalNorm(grad_clip) if grad_clip else None}
    if name == "sgd":
        return paddle.optimizer.SGD(**options)
    if name == "momentum":
        return paddle.optimizer.Momentum(momentum=0.9, **options)
    if name == "adagrad":
        return paddle.optimizer.Adagrad(**options)
    if name == "adam":
        return paddle.optimizer.Adam(**options)
    raise UserError(f"unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZERS)}")


def check_loss_name(loss):
    if loss not in LOSSES:
        raise UserError(f"unknown loss {loss!r}: choose mse (regression), ce or sigmoid_ce (classification)")


def num_outputs(loss):
    """Regression predicts one number; classification one score per digit."""
    return 1 if loss == "mse" else 10


def label_dtype(loss):
    return "float32" if loss == "mse" else "int64"


def compute_loss(loss, outputs, labels):
    if loss == "mse":
        return paddle.mean(F.square_error_cost(outputs, labels))
    if loss == "sigmoid_ce":  # summed over the 10 output units, averaged over the batch
        targets = F.one_hot(labels[:, 0], outputs.shape[1])
        return F.binary_cross_entropy_with_logits(outputs, targets, reduction="sum") / outputs.shape[0]
    return F.cross_entropy(outputs, labels)


def to_digits(loss, outputs):
    """Predicted digits: the rounded value for regression (clipped to 0-9), the top score for classification."""
    outputs = outputs.numpy()
    if loss == "mse":
        return np.clip(np.rint(outputs[:, 0]), 0, 9).astype(np.int64)
    return outputs.argmax(axis=1)


@paddle.no_grad()
def predict(model, loader, loss):
    """Run `model` over a loader; return (predicted digits, true digits, mean loss)."""
    model.eval()
    predicted, truth, total, count = [], [], 0.0, 0
    for images, labels in loader():
        outputs = model(paddle.to_tensor(images))
        total += float(compute_loss(loss, outputs, paddle.to_tensor(labels))) * len(images)
        count += len(images)
        predicted.append(to_digits(loss, outputs))
        truth.append(labels[:, 0].astype(np.int64))
    model.train()
    return np.concatenate(predicted), np.concatenate(truth), total / count


def evaluate(model, loader, loss):
    """Mean loss and accuracy (for regression: of the rounded prediction) over a loader."""
    predicted, truth, mean_loss = predict(model, loader, loss)
    return {"loss": mean_loss, "accuracy": float(np.mean(predicted == truth))}


def train(model, optimizer, train_loader, valid_loader, config, run, *, start_epoch=0, end_epoch=None, step=0,
          scheduler=None, num_batches=None):
    """Train epochs start_epoch..end_epoch-1 (default: to config.epochs), logging the loss every
    config.log_interval batches and checkpointing after each epoch.

    Stops with a clear message when the loss stops being a finite number, keeping the last good
    checkpoint. Returns the list of per-epoch summaries.
    """
    summaries = []
    for epoch in range(start_epoch, end_epoch or config.epochs):
        started, epoch_tally, window = time.perf_counter(), Tally(), Tally()
        for batch, (images, labels) in enumerate(progress(train_loader(), num_batches, f"epoch {epoch}", run.writes)):
            outputs = model(paddle.to_tensor(images))
            batch_loss = compute_loss(config.loss, outputs, paddle.to_tensor(labels))
            batch_loss.backward()
            optimizer.step()
            optimizer.clear_grad()
            if scheduler:
                scheduler.step()

            value = float(batch_loss)
            if not math.isfinite(value):
                raise diverged(value, epoch, batch, optimizer, run)
            hits = int(np.sum(to_digits(config.loss, outputs) == labels[:, 0]))
            epoch_tally.add(value, hits, len(images))
            window.add(value, hits, len(images))
            if batch % config.log_interval == 0:
                run.say(f"epoch: {epoch}, batch: {batch}, loss is: {value:.4f}")
                run.log({"kind": "batch", "epoch": epoch, "batch": batch, "step": step, "loss": value,
                         "window_loss": window.loss, "window_accuracy": window.accuracy})
                window = Tally()
            step += 1

        seconds, seen = time.perf_counter() - started, epoch_tally.seen
        valid = evaluate(model, valid_loader, config.loss)
        summary = {"kind": "epoch", "epoch": epoch, "step": step, "seconds": seconds,
                   "images_per_second": seen / seconds, "lr": optimizer.get_lr(),
                   "train_loss": epoch_tally.loss, "train_accuracy": epoch_tally.accuracy,
                   "valid_loss": valid["loss"], "valid_accuracy": valid["accuracy"]}
        run.say(f"epoch {epoch} done in {seconds:.1f}s ({seen / seconds:.0f} img/s): train loss "
                f"{summary['train_loss']:.4f}, accuracy {100 * summary['train_accuracy']:.2f}%; valid "
                f"{'MSE' if config.loss == 'mse' else 'loss'} {valid['loss']:.4f}, accuracy {100 * valid['accuracy']:.2f}%")
        run.log(summary)
        run.save_checkpoint(model, optimizer, epoch, step)
        summaries.append(summary)
    return summaries


class Tally:
    """Mean loss and accuracy over a stretch of training batches (an epoch, or one logging window)."""

    def __init__(self):
        self.loss_sum, self.batches, self.hits, self.seen = 0.0, 0, 0, 0

    def add(self, loss, hits, count):
        self.loss_sum, self.batches = self.loss_sum + loss, self.batches + 1
        self.hits, self.seen = self.hits + hits, self.seen + count

    @property
    def loss(self):
        return self.loss_sum / self.batches

    @property
    def accuracy(self):
        return self.hits / self.seen


def diverged(value, epoch, batch, optimizer, run):
    saved = run.checkpoint()
    kept = (f"the checkpoint of epoch {saved['epoch']} in {run.path} is kept" if saved
            else "no epoch had finished, so no checkpoint was written")
    lr = optimizer.get_lr()
    return UserError(f"the loss became {value} at epoch {epoch}, batch {batch}: the learning rate {lr:g} is too "
                     f"high, lower it (e.g. --lr {lr / 10:g}); {kept}")


def progress(batches, total, label, show=True):
    """A one-line progress bar on an interactive terminal; silent in logs and CI."""
    if not (show and total and sys.stderr.isatty()):
        yield from batches
        return
    for done, item in enumerate(batches, 1):
        yield item
        filled = 30 * done // total
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
        if done == total:
            sys.stderr.write("\r" + " " * (len(label) + 45) + "\r")
    sys.stderr.flush()


@dataclass
class Result:
    run: Run
    model: paddle.nn.Layer
    epochs: list
    eval: dict


def fit(config, build_model_fn=None, resume=None, stop_after=None):
    """Everything a training run does: data, model, optimizer, the loop, the loss plot, a final eval.

    `build_model_fn()`, called after seeding so the seed fixes its initial weights, replaces the
    registry's model named in the config (a lab's variant with options, say). `resume`
    names a run folder to continue from its last checkpoint, with `config` read from that folder.
    `stop_after` ends this call after that many epochs of the schedule, as an interruption would.
    In a data-parallel run (paddle.distributed.launch) each rank trains on its shard of every epoch
    and only rank 0 writes the run folder.
    """
    from models import build_model

    check_loss_name(config.loss)
    if not 0 <= config.shift <= MAX_SHIFT:
        raise UserError(f"shift {config.shift}: give 0 (no augmentation) to {MAX_SHIFT} pixels; 1 or 2 suit 28x28 digits")
    if not 0 <= config.rotate <= MAX_ROTATE:
        raise UserError(f"rotate {config.rotate}: give 0 (no augmentation) to {MAX_ROTATE} degrees; about 10 suits digits")
    select_device(config.device)
    rank, world_size = world()
    seed_everything(config.seed)
    with onednn_enabled(config.onednn):
        network = build_model_fn() if build_model_fn else build_model(config.model, num_outputs(config.loss))
        onednn = using_onednn()
    datafile = ensure_datafile(config.data, config.source)
    num_batches = -(-(len(load_course_data(datafile)["train"][0]) // world_size) // config.batch_size)
    learning_rate = make_schedule(config.lr_schedule, config.lr, config.epochs * num_batches)
    optimizer = make_optimizer(config.optimizer, learning_rate, network.parameters(), config.weight_decay,
                               config.grad_clip)

    if resume:
        run = Run.open(resume, writes=rank == 0, visualdl=config.visualdl)
        start_epoch, step = run.restore(network, optimizer)
        run.say(f"resuming {resume} at epoch {start_epoch} (step {step})")
    else:
        out = config.out or new_run_path("runs", f"{config.model}-{config.loss}-{config.optimizer}")
        run = Run.create(out, {**asdict(config), "out": out, "data": datafile, "onednn": onednn},
                         writes=rank == 0, visualdl=config.visualdl)
        start_epoch, step = 0, 0

    def loader(mode, shard=None):
        return load_data(mode, config.batch_size, image_shape=network.input_shape,
                         label_dtype=label_dtype(config.loss), datafile=datafile, shard=shard, shift=config.shift,
                         rotate=config.rotate)

    inspector = Inspector(network, config.debug_batch) if config.debug_batch is not None else None
    model = parallel(network)
    epochs = train(model, optimizer, loader("train", (rank, world_size) if world_size > 1 else None),
                   loader("valid"), config, run, start_epoch=start_epoch, end_epoch=stop_after, step=step,
                   scheduler=learning_rate if isinstance(learning_rate, paddle.optimizer.lr.LRScheduler) else None,
                   num_batches=num_batches)
    if inspector:
        inspector.remove()
    if world_size > 1:  # every rank says what it ended with: data parallelism keeps them identical
        print(f"rank {rank}: parameter checksum {sum(float(p.astype('float64').sum()) for p in network.parameters()):.10f}")
    if run.writes:
        plot_curves({f"{config.model} ({config.loss}, {config.optimizer} {config.lr:g})": loss_curve(run)},
                    run.file("loss.png"), f"train loss, {config.model}")
        plot_train_valid(run, run.file("curves.png"), config.model)
    final = evaluate(network, loader("eval"), config.loss)
    run.log({"kind": "eval", **final})
    run.say(f"eval: loss {final['loss']:.4f}, accuracy {100 * final['accuracy']:.2f}%  (run folder: {run.path})")
    return Result(run, network, epochs, final)
