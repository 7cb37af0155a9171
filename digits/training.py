"""The one training loop every lab and train.py share, and the evaluation that goes with it."""
import collections
import math
import random
import sys
import time
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import paddle
import paddle.nn.functional as F

from .data import batches_per_epoch, load_course_data, load_data
from .debug import Inspector
from .devices import parallel, select_device, world
from .errors import Diverged, UserError
from .memory import keep_freed_memory
from .threads import use_all_cores
from .onednn import accelerate
from .plots import LiveCurves, loss_curve, plot_curves, plot_train_valid
from .prepare import ensure_datafile
from .runs import Run, new_run_path

LOSSES = ("mse", "ce", "sigmoid_ce")
OPTIMIZERS = ("sgd", "momentum", "adagrad", "adam")
SCHEDULES = ("constant", "warmup", "polynomial", "onecycle")
MAX_SHIFT = 8  # pixels: a digit is about 20 pixels across, a bigger shift pushes it off the image
MAX_ROTATE = 30  # degrees: beyond that a 6 starts to look like a 9
MAX_SCALE = 0.3  # a digit 30% smaller or larger still fits the 28x28 frame


def option(default, help, check=None, **argparse_options):
    """A TrainConfig field with its command-line help and its check: each option is declared once, here.

    `check(value)` returns None when the value is fine, else what is wrong with it (a phrase)."""
    return field(default=default, metadata={"help": help, "check": check, **argparse_options})


def at_least(low, what=""):
    return lambda value: None if value >= low else f"must be at least {low}{what}"


def between(low, high, hint):
    return lambda value: None if low <= value <= high else f"give {low} to {high} ({hint})"


def one_of(names):
    return lambda value: None if value in names else f"choose one of {', '.join(names)}"


def below(limit, hint):
    return lambda value: None if 0 <= value < limit else f"give 0 to {limit - 1} ({hint})"


@dataclass
class TrainConfig:
    """Everything a training run is set by. train.py's flags are these fields (digits.cli builds them)."""
    model: str = option("cnn", "the network, a name from models/ (train.py lists them)")
    loss: str = option("ce", "mse regresses the digit's value; ce (softmax cross-entropy) and sigmoid_ce "
                             "(one sigmoid per digit, Nielsen's cost) classify it", one_of(LOSSES), choices=LOSSES)
    optimizer: str = option("adam", "the update rule", one_of(OPTIMIZERS), choices=OPTIMIZERS)
    lr: float = option(0.001, "learning rate", lambda v: None if v > 0 else "must be above 0")
    lr_schedule: str = option("constant", "warmup: rise linearly from 0 to lr over the first epoch, then constant; "
                                          "polynomial: decay linearly to lr/10 over the run, every batch; onecycle: "
                                          "rise from lr/25 to lr over the first 30%% of batches, then anneal",
                              one_of(SCHEDULES), choices=SCHEDULES)
    shift: int = option(0, "augment: move each training image by up to this many pixels, anew every epoch",
                        between(0, MAX_SHIFT, "pixels; 1 or 2 suit 28x28 digits"), metavar="PIXELS")
    rotate: float = option(0.0, "augment: turn each training image by up to this many degrees, anew every epoch",
                           between(0, MAX_ROTATE, "degrees; about 10 suits digits"), metavar="DEGREES")
    scale: float = option(0.0, "augment: resize each training image by a random factor in [1 - S, 1 + S], anew "
                               "every epoch", between(0, MAX_SCALE, "0.1 to 0.2 suits digits"), metavar="S")
    stroke: float = option(0.0, "augment: thicken or thin each training image's strokes by up to this many "
                                "pixels per side, anew every epoch", between(0, 1, "a pen's width varies by about 0.5"),
                           metavar="PIXELS")
    aspect: float = option(0.0, "augment: resize each training image's width, not its height, by a random factor in "
                                "[1 - A, 1 + A], anew every epoch (other writers' narrower or wider digits)",
                           between(0, 0.5, "0.3 covers the UCI digits' narrower shapes"), metavar="A")
    slant: float = option(0.0, "augment: shear each training image horizontally by a random factor in [-S, S] (S = "
                               "tan of the largest slant), anew every epoch", between(0, 1, "0.3 is about 17 degrees"),
                          metavar="S")
    elastic: float = option(0.0, "augment: distort each training image by a random displacement field smoothed by a "
                                 "Gaussian of --elastic-sigma pixels and scaled by this (Simard et al. 2003), anew "
                                 "every epoch", between(0, 60, "Simard et al. used 34 with sigma 4"), metavar="ALPHA")
    elastic_sigma: float = option(4.0, "augment: the smoothness of --elastic's field, in pixels (small: jitter; large: "
                                       "an almost rigid shift)", between(2, 10, "Simard et al. used 4"),
                                  metavar="PIXELS")
    blur: float = option(0.0, "augment: blur half the training images, at random, by a Gaussian of up to this many "
                              "pixels (its contrast stretched back, as the app stretches a photo's), anew every "
                              "epoch: a blunt pen, a coarse scan", between(0, 2, "1 to 1.5 suits photos of digits"),
                         metavar="PIXELS")
    epochs: int = option(5, "passes over the training images", at_least(1))
    batch_size: int = option(100, "images per training step", at_least(1))
    seed: int = option(0, "fixes Python's, NumPy's and Paddle's randomness", below(2**32, "NumPy's seed range"))
    weight_decay: float = option(0.0, "L2 penalty coefficient (paddle.regularizer.L2Decay); 0 is none", at_least(0))
    grad_clip: float = option(0.0, "clip each step's gradient to this global norm (ClipGradByGlobalNorm); 0 is none",
                              at_least(0))
    log_interval: int = option(100, "print and record the loss every this many batches", at_least(1))
    device: str = option("auto", "cpu, gpu, gpu:N, or auto (a GPU if there is one)")
    debug_batch: int = option(None, "print layer shapes on the first batch, weights and outputs at batch N",
                              at_least(0), metavar="N")
    visualdl: bool = option(False, "also log scalars for VisualDL in RUN/visualdl (pip install visualdl; view: "
                                   "visualdl --logdir RUN/visualdl -L en)")
    out: str = option(None, "run folder to create (default: runs/<time>-<model>-<loss>-<optimizer>)")
    data: str = option(None, "the course data file (default: MNIST_JSON, else work/mnist.json.gz, else AI "
                             "Studio's data/data*/mnist.json.gz)")
    source: str = option(None, "folder of the four MNIST .gz files, to build a missing data file from")
    onednn: bool = option(True, "run conv layers on oneDNN's kernels (digits.onednn.accelerate); --no-onednn: "
                                "Paddle's own, as the course ran them")
    fuse: bool = option(True, "with oneDNN, run each conv -> relu -> max-pool stage of the model's forward as one "
                              "oneDNN call (digits.fusion); --no-fuse: three calls")

    def __post_init__(self):
        for f in fields(self):
            check, value = f.metadata.get("check"), getattr(self, f.name)
            try:
                problem = check(value) if check and value is not None else None
            except TypeError:  # "two" for a number: from an edited config.json or a notebook cell
                problem = f"is not a {f.type if isinstance(f.type, str) else f.type.__name__}"
            if problem:
                raise UserError(f"--{f.name.replace('_', '-')} {value}: {problem}")


def seed_everything(seed):
    """One seed fixes Python's, NumPy's (the loader's shuffle) and Paddle's (weights, dropout) randomness."""
    random.seed(seed)
    np.random.seed(seed)
    paddle.seed(seed)


def make_schedule(name, lr, total_steps, epoch_steps):
    """The learning rate: a number, or a scheduler the loop steps after every batch."""
    if name == "constant":
        return lr
    if name == "warmup":  # small first steps while the error and the gradients are largest (Goyal et al. 2017)
        return paddle.optimizer.lr.LinearWarmup(learning_rate=lr, warmup_steps=epoch_steps, start_lr=0.0, end_lr=lr)
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


def num_outputs(loss):
    """Regression predicts one number; classification one score per digit."""
    return 1 if loss == "mse" else 10


def label_dtype(loss):
    return "float32" if loss == "mse" else "int64"


def mse(predicts, labels):
    """The course's regression loss: the mean over the batch of (prediction - label)^2."""
    return paddle.mean(F.square_error_cost(predicts, labels))


def sigmoid_ce(predicts, labels):
    """One sigmoid per digit against the one-hot label, summed over the 10 units, averaged over the batch."""
    targets = F.one_hot(labels[:, 0], predicts.shape[1])
    return F.binary_cross_entropy_with_logits(predicts, targets, reduction="sum") / predicts.shape[0]


LOSS_FUNCTIONS = {"mse": mse, "ce": F.cross_entropy, "sigmoid_ce": sigmoid_ce}


def train_step(model, optimizer, images, labels, loss_fn):
    """One step of the course's loop, the lines lab 02 writes out: forward, loss, backward, update, clear."""
    predicts = model(images)
    loss = loss_fn(predicts, labels)
    loss.backward()
    optimizer.step()
    optimizer.clear_grad()
    return predicts, loss


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
        total += float(LOSS_FUNCTIONS[loss](outputs, paddle.to_tensor(labels))) * len(images)
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

    Stops with a clear message when training cannot recover (digits.training.check_progress), keeping
    the last good checkpoint. Returns the list of per-epoch summaries.
    """
    loss_fn, summaries, first_loss = LOSS_FUNCTIONS[config.loss], [], None
    recent = collections.deque(maxlen=RECENT)   # the last batches' losses: where training is now
    live = LiveCurves(f"{config.model}, {config.loss} loss", logy=config.loss == "mse")  # redrawn in a notebook
    for epoch in range(start_epoch, end_epoch or config.epochs):
        started, epoch_tally, window = time.perf_counter(), Tally(), Tally()
        for batch, (images, labels) in enumerate(progress(train_loader(), num_batches, f"epoch {epoch}", run.writes)):
            outputs, batch_loss = train_step(model, optimizer, paddle.to_tensor(images), paddle.to_tensor(labels),
                                             loss_fn)
            if scheduler:
                scheduler.step()

            # bookkeeping: the loss line, the records behind the curves, the divergence guard
            value = float(batch_loss)
            first_loss = value if first_loss is None else first_loss
            recent.append(value)
            if not math.isfinite(value):
                lr = optimizer.get_lr()
                raise diverged(f"the loss became {value} at epoch {epoch}, batch {batch}: the learning rate {lr:g} is "
                               f"too high for this setting, lower it (e.g. --lr {lr / 10:g})", run)
            hits = int(np.sum(to_digits(config.loss, outputs) == labels[:, 0]))
            epoch_tally.add(value, hits, len(images))
            window.add(value, hits, len(images))
            if batch % config.log_interval == 0:
                run.say(f"epoch: {epoch}, batch: {batch}, loss is: {value:.4f}")
                run.log({"kind": "batch", "epoch": epoch, "batch": batch, "step": step, "loss": value,
                         "window_loss": window.loss, "window_accuracy": window.accuracy})
                live.add("train (mean of the window)", step, window.loss)
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
        live.add("valid", step, valid["loss"])
        check_progress(summary, first_loss, float(np.mean(recent)), config.loss, optimizer, run,
                       previous=summaries[-1] if summaries else None)
        run.log(summary)
        run.save_checkpoint(model, optimizer, epoch, step)
        summaries.append(summary)
    live.draw()
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


CHANCE = 0.15  # a classifier of 10 balanced digits right this rarely has learned nothing
RECENT = 5     # batches whose mean loss says where training is at the end of an epoch


def check_progress(summary, first_loss, recent_loss, loss, optimizer, run, previous=None):
    """Stop a run that cannot recover, after an epoch's summary: a finite loss can still explode (the last
    batches' mean at 10x the first batch's), give a non-finite valid loss, leave a classifier at chance with a
    loss that has not fallen after two epochs, or leave a regression at chance with a loss that grew by more
    than a tenth since the epoch before. A run that overshot and then settled, or a regression that plateaus,
    is left alone: lab 03 studies exactly that."""
    epoch, lr = summary["epoch"], optimizer.get_lr()
    too_high = f"the learning rate {lr:g} is too high for this setting, lower it (e.g. --lr {lr / 10:g})"
    if not math.isfinite(summary["valid_loss"]):
        raise diverged(f"the valid loss became {summary['valid_loss']} at epoch {epoch}: {too_high}", run)
    if recent_loss > 10 * first_loss:
        raise diverged(f"the train loss grew from {first_loss:.4g} to {recent_loss:.4g} by epoch {epoch}: "
                       f"{too_high}", run)
    at_chance = summary["valid_accuracy"] < CHANCE
    if loss != "mse" and epoch >= 1 and at_chance and summary["train_loss"] >= 0.95 * first_loss:
        raise diverged(f"after epoch {epoch} the valid accuracy is {100 * summary['valid_accuracy']:.1f}%, chance "
                       f"level, and the loss has not fallen: the learning rate {lr:g} is too low to move or so high "
                       f"that the units died; try --lr {lr * 10:g} and --lr {lr / 10:g}", run)
    if loss == "mse" and previous and at_chance and summary["train_loss"] > 1.1 * previous["train_loss"]:
        raise diverged(f"after epoch {epoch} the rounded predictions are right {100 * summary['valid_accuracy']:.1f}% "
                       f"of the time, chance level, and the train loss grew from {previous['train_loss']:.4g} to "
                       f"{summary['train_loss']:.4g}: {too_high}", run)


def diverged(problem, run):
    saved = run.checkpoint()
    kept = (f"the checkpoint of epoch {saved['epoch']} in {run.path} is kept" if saved
            else "no epoch had finished, so no checkpoint was written")
    return Diverged(f"{problem}; {kept}")


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


def fit(config, make_model, resume=None, stop_after=None):
    """Everything a training run does: data, model, optimizer, run folder, the loop, plots and a final eval.

    `make_model()` builds the network; it is called after seeding, so the seed fixes its initial weights.
    `resume` names a run folder to continue from its last checkpoint (`config` is that run's, perhaps with
    more epochs). `stop_after` ends this call after that many epochs of the schedule, as an interruption
    would. In a data-parallel run (paddle.distributed.launch) each rank trains on its shard of every
    epoch and only rank 0 writes the run folder.
    """
    select_device(config.device)
    rank, world_size = world()
    seed_everything(config.seed)

    if stop_after is not None and stop_after > config.epochs:
        raise UserError(f"--stop-after {stop_after} is past the run's last epoch (--epochs {config.epochs}): give "
                        f"--stop-after 1 to {config.epochs}")

    # data
    datafile = ensure_datafile(config.data, config.source)
    data = load_course_data(datafile)
    num_batches = batches_per_epoch(len(data["train"][0]) // world_size, config.batch_size)

    # model: the network as written, its conv layers then swapped for oneDNN's (same parameters) and its
    # conv -> relu -> pool stages fused
    network = make_model()
    keep_freed_memory()  # for every run, --no-onednn too (accelerate() does both for labs that call it alone)
    use_all_cores()
    if config.onednn:
        accelerate(network, fuse=config.fuse)

    # optimizer, with the learning-rate schedule it steps
    learning_rate = make_schedule(config.lr_schedule, config.lr, config.epochs * num_batches, num_batches)
    optimizer = make_optimizer(config.optimizer, learning_rate, network.parameters(), config.weight_decay,
                               config.grad_clip)

    # run folder: a new one, or the one to continue
    if resume:
        run = Run.open(resume, writes=rank == 0, visualdl=config.visualdl)
        run.lock()
        saved, trained = run.config, run.checkpoint()
        if saved.get("data_key") and saved["data_key"] != data.key:  # the same path, other contents: other weights
            raise UserError(f"{datafile} is not the file {resume} was trained on (its contents changed since): "
                            f"--resume continues a run on its own data; put that file back, or start a new run")
        if trained and trained["epoch"] + 1 >= config.epochs:
            done = trained["epoch"] + 1
            raise UserError(f"{resume} has finished its {done} epochs: nothing to resume (eval.py {resume} evaluates "
                            f"it; --epochs {done + 1} or more trains on)" if done == config.epochs else
                            f"{resume} has already trained {done} epochs, so --epochs {config.epochs} leaves nothing "
                            f"to train: pass --epochs {done + 1} or more to train on")
        run.update_config({"epochs": config.epochs, "device": config.device})
        start_epoch, step = run.restore(network, optimizer)
        run.say(f"resuming {resume} at epoch {start_epoch} (step {step})" if start_epoch else
                f"{resume}: no epoch had finished, so it starts from the beginning")
    else:
        # what rebuilding the model takes beside its name: build_model's options (lab 13's hidden sizes)
        options = {key: list(value) if isinstance(value, tuple) else value
                   for key, value in getattr(network, "build_options", {}).items()}
        recorded = {**asdict(config), "data": datafile, "data_key": data.key, "pixel_range": list(data.pixel_range),
                    "model_options": options}
        if config.out:
            run = Run.create(config.out, {**recorded, "out": config.out}, writes=rank == 0, visualdl=config.visualdl)
        else:  # a new name, reserved as it is made: runs started at the same moment get folders of their own
            out = new_run_path("runs", f"{config.model}-{config.loss}-{config.optimizer}", reserve=rank == 0)
            run = Run.create(out, {**recorded, "out": out}, writes=rank == 0, visualdl=config.visualdl)
        start_epoch, step = 0, 0

    def loader(mode, shard=None):
        return load_data(mode, config.batch_size, image_shape=network.input_shape,
                         label_dtype=label_dtype(config.loss), datafile=datafile, shard=shard, shift=config.shift,
                         rotate=config.rotate, scale=config.scale, stroke=config.stroke, aspect=config.aspect,
                         slant=config.slant, elastic_alpha=config.elastic, elastic_sigma=config.elastic_sigma,
                         blur=config.blur)

    # train
    try:
        inspector = Inspector(network, config.debug_batch) if config.debug_batch is not None else None
        model = parallel(network)
        epochs = train(model, optimizer, loader("train", (rank, world_size) if world_size > 1 else None),
                       loader("valid"), config, run, start_epoch=start_epoch, end_epoch=stop_after, step=step,
                       scheduler=learning_rate if isinstance(learning_rate, paddle.optimizer.lr.LRScheduler) else None,
                       num_batches=num_batches)
        if inspector:
            inspector.remove()
        if world_size > 1:  # every rank says what it ended with: data parallelism keeps them identical
            print(f"rank {rank}: parameter checksum "
                  f"{sum(float(p.astype('float64').sum()) for p in network.parameters()):.10f}")

        # report: loss and accuracy curves, and the final eval on the test images
        if run.writes:
            plot_curves({f"{config.model} ({config.loss}, {config.optimizer} {config.lr:g})": loss_curve(run)},
                        run.file("loss.png"), f"train loss, {config.model}",
                        show_inline=False)  # a notebook has shown it live
            plot_train_valid(run, run.file("curves.png"), config.model)
        final = evaluate(network, loader("eval"), config.loss)
        run.log({"kind": "eval", **final})
    finally:
        run.unlock()
    run.say(f"eval: loss {final['loss']:.4f}, accuracy {100 * final['accuracy']:.2f}%  (run folder: {run.path})")
    return Result(run, network, epochs, final)
