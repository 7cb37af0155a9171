"""The one training loop every lab and train.py share, and the evaluation that goes with it."""
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np
import paddle
import paddle.nn.functional as F

from .data import load_course_data, load_data
from .errors import UserError
from .plots import loss_curve, plot_curves
from .prepare import ensure_datafile
from .runs import Run, new_run_path

LOSSES = ("mse", "ce")
OPTIMIZERS = ("sgd", "momentum", "adagrad", "adam")


@dataclass
class TrainConfig:
    model: str = "cnn"
    loss: str = "ce"            # mse: regress the digit's value; ce: classify with cross-entropy
    optimizer: str = "adam"
    lr: float = 0.001
    epochs: int = 5
    batch_size: int = 100
    seed: int = 0
    weight_decay: float = 0.0   # L2 penalty coefficient (paddle.regularizer.L2Decay); 0 is none
    log_interval: int = 100     # print and record the loss every this many batches
    out: str = None             # run folder; default runs/<time>-<model>-<loss>-<optimizer>
    data: str = None            # the course file; default work/mnist.json.gz (or MNIST_JSON)
    source: str = None          # folder of MNIST .gz files to build the course file from, if missing


def seed_everything(seed):
    """One seed fixes Python's, NumPy's (the loader's shuffle) and Paddle's (initial weights) randomness."""
    random.seed(seed)
    np.random.seed(seed)
    paddle.seed(seed)


def make_optimizer(name, lr, parameters, weight_decay=0.0):
    """One of the course's optimizers; `weight_decay` adds an L2 penalty on every parameter."""
    options = {"learning_rate": lr, "parameters": parameters,
               "weight_decay": paddle.regularizer.L2Decay(weight_decay) if weight_decay else None}
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
        raise UserError(f"unknown loss {loss!r}: choose mse (regression) or ce (classification)")


def num_outputs(loss):
    """Regression predicts one number; classification one score per digit."""
    return 1 if loss == "mse" else 10


def label_dtype(loss):
    return "float32" if loss == "mse" else "int64"


def compute_loss(loss, outputs, labels):
    if loss == "mse":
        return paddle.mean(F.square_error_cost(outputs, labels))
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


def train(model, optimizer, train_loader, valid_loader, *, loss, epochs, log_interval, run, num_batches=None):
    """Train for `epochs`, logging the loss every `log_interval` batches; checkpoint after each epoch.

    Stops with a clear message when the loss stops being a finite number, keeping the last good
    checkpoint. Returns the list of per-epoch summaries.
    """
    summaries, step = [], 0
    for epoch in range(epochs):
        started, seen, epoch_losses, window = time.perf_counter(), 0, [], []
        for batch, (images, labels) in enumerate(progress(train_loader(), num_batches, f"epoch {epoch}")):
            batch_loss = compute_loss(loss, model(paddle.to_tensor(images)), paddle.to_tensor(labels))
            batch_loss.backward()
            optimizer.step()
            optimizer.clear_grad()

            value = float(batch_loss)
            if not math.isfinite(value):
                raise diverged(value, epoch, batch, optimizer, run)
            seen += len(images)
            epoch_losses.append(value)
            window.append(value)
            if batch % log_interval == 0:
                print(f"epoch: {epoch}, batch: {batch}, loss is: {value:.4f}")
                run.log({"kind": "batch", "epoch": epoch, "batch": batch, "step": step,
                         "loss": value, "window_loss": float(np.mean(window))})
                window = []
            step += 1

        seconds = time.perf_counter() - started
        valid = evaluate(model, valid_loader, loss)
        summary = {"kind": "epoch", "epoch": epoch, "seconds": seconds, "images_per_second": seen / seconds,
                   "train_loss": float(np.mean(epoch_losses)), "valid_loss": valid["loss"],
                   "valid_accuracy": valid["accuracy"]}
        print(f"epoch {epoch} done in {seconds:.1f}s ({seen / seconds:.0f} img/s): train loss "
              f"{summary['train_loss']:.4f}, valid {'MSE' if loss == 'mse' else 'loss'} {valid['loss']:.4f}, "
              f"valid accuracy {100 * valid['accuracy']:.2f}%")
        run.log(summary)
        run.save_checkpoint(model, optimizer, epoch)
        summaries.append(summary)
    return summaries


def diverged(value, epoch, batch, optimizer, run):
    saved = run.checkpoint_epoch()
    kept = (f"the checkpoint of epoch {saved} in {run.path} is kept" if saved is not None
            else "no epoch had finished, so no checkpoint was written")
    lr = optimizer.get_lr()
    return UserError(f"the loss became {value} at epoch {epoch}, batch {batch}: the learning rate {lr:g} is too "
                     f"high, lower it (e.g. --lr {lr / 10:g}); {kept}")


def progress(batches, total, label):
    """A one-line progress bar on an interactive terminal; silent in logs and CI."""
    if not sys.stderr.isatty() or not total:
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


def fit(config, model=None):
    """Everything a training run does: data, model, optimizer, the loop, the loss plot, a final eval.

    `model` overrides the registry's model named in the config (a lab's variant, say).
    """
    from models import build_model

    check_loss_name(config.loss)
    seed_everything(config.seed)
    model = model or build_model(config.model, num_outputs(config.loss))
    optimizer = make_optimizer(config.optimizer, config.lr, model.parameters(), config.weight_decay)
    datafile = ensure_datafile(config.data, config.source)

    def loader(mode):
        return load_data(mode, config.batch_size, image_shape=model.input_shape,
                         label_dtype=label_dtype(config.loss), datafile=datafile)

    out = config.out or new_run_path("runs", f"{config.model}-{config.loss}-{config.optimizer}")
    run = Run.create(out, {**asdict(config), "out": out, "data": datafile})
    train_count = len(load_course_data(datafile)["train"][0])
    epochs = train(model, optimizer, loader("train"), loader("valid"), loss=config.loss, epochs=config.epochs,
                   log_interval=config.log_interval, run=run, num_batches=-(-train_count // config.batch_size))
    plot_curves({f"{config.model} ({config.loss}, {config.optimizer} {config.lr:g})": loss_curve(run)},
                run.file("loss.png"), f"train loss, {config.model}")
    final = evaluate(model, loader("eval"), config.loss)
    run.log({"kind": "eval", **final})
    print(f"eval: loss {final['loss']:.4f}, accuracy {100 * final['accuracy']:.2f}%  (run folder: {run.path})")
    return Result(run, model, epochs, final)
