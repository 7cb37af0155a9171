"""Lab 00 · 通过极简方案构建手写数字识别模型 — the house-price recipe, reused on digits.

Course section 2-1. The simplest possible attempt: paddle.vision's MNIST (60,000 training images),
pixels / 255 flattened to 784 numbers, one Linear(784, 1) layer regressing the digit's value with mean
squared error, SGD lr 0.001, batch 16, 10 epochs, the loss printed every 1000 batches. The course's
loss falls from ~35 to a noisy 2-8 and its prediction for a photo of a 0 is "1": a straight line
through pixel space cannot tell digits apart. Homework 2-1 asks for the test accuracy; it is printed.

Then the course's next section (data processing) trains the same model on its own loader, whose labels
have shape [B] while the model outputs [B, 1]. F.square_error_cost(predicts, labels) then broadcasts
[B, 1] against [B] to a [B, B] matrix: every prediction is compared with every label of the batch, so
the best the model can do is predict the batch's mean label, and the loss plateaus near the labels'
variance (~8.3) instead of falling. The lab shows the shapes, trains both ways and fixes it with
labels.reshape([-1, 1]), which every later lab's loader returns.

Deviations from the course: paddle.vision reads the IDX files from --source (offline; the course
downloads them); 'pil' instead of the course's 'cv2' image backend (opencv is not a dependency);
the photo prediction is left to lab 04 and eval.py --image; the [B] vs [B, 1] runs last 3 epochs.

    python labs/00_minimal_linear.py --source ../shared/data/mnist
"""
import os

import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
import paddle.nn.functional as F
from digits.errors import UserError, run_main
from digits.idx import FILES
from digits.lab import lab_arguments, lab_folder, parse_lab_arguments
from digits.plots import plot_curves
from digits.prepare import default_datafile
from digits.training import seed_everything


def norm_img(img):
    """[B, 28, 28] pixels 0-255 -> [B, 784] in [0, 1], as the course normalises them."""
    return paddle.reshape(img.astype("float32") / 255, [img.shape[0], 784])


def mnist_dataset(source, mode, quick):
    """paddle.vision's MNIST read from the local IDX files, each image as a 28x28 array (the DataLoader
    cannot batch PIL images); a slice of it in quick mode."""
    prefix = "train" if mode == "train" else "test"
    dataset = paddle.vision.datasets.MNIST(image_path=os.path.join(source, FILES[f"{prefix}_images"]),
                                           label_path=os.path.join(source, FILES[f"{prefix}_labels"]),
                                           mode=mode, backend="pil", download=False,
                                           transform=lambda image: np.asarray(image, dtype="float32"))
    return paddle.io.Subset(dataset, range(2000 if mode == "train" else 500)) if quick else dataset


def train(model, dataset, epochs, flat_labels=False, log_interval=1000):
    """The course's loop. flat_labels=True gives the labels shape [B], as the course's own loader does."""
    loader = paddle.io.DataLoader(dataset, batch_size=16, shuffle=True)
    optimizer = paddle.optimizer.SGD(learning_rate=0.001, parameters=model.parameters())
    losses = []
    for epoch_id in range(epochs):
        for batch_id, (images, labels) in enumerate(loader()):
            images = norm_img(images)
            labels = paddle.reshape(labels, [-1]) if flat_labels else labels   # [B] or [B, 1]
            labels = labels.astype("float32")
            predicts = model(images)                                           # [B, 1]
            loss = F.square_error_cost(predicts, labels)                       # [B, 1], or [B, B] if broadcast
            avg_loss = paddle.mean(loss)
            avg_loss.backward()
            optimizer.step()
            optimizer.clear_grad()
            losses.append(float(avg_loss))
            if batch_id % log_interval == 0:
                print(f"epoch: {epoch_id}, batch_id: {batch_id}, loss is: {float(avg_loss):.4f}")
    return losses


@paddle.no_grad()
def test_accuracy(model, dataset):
    """Homework 2-1: how often the rounded prediction is the digit, on the 10,000 test images."""
    hits = count = 0
    for images, labels in paddle.io.DataLoader(dataset, batch_size=500)():
        predicts = model(norm_img(images)).numpy()
        hits += int(np.sum(np.clip(np.rint(predicts), 0, 9) == labels.numpy()))
        count += len(predicts)
    return hits / count


def main():
    parser = lab_arguments(__doc__, epochs=10)
    parser.add_argument("--source", help="folder of the four MNIST .gz files (default: MNIST_SOURCE, or work/mnist-idx)")
    args = parse_lab_arguments(parser)
    source = args.source or os.environ.get("MNIST_SOURCE") or os.path.join(os.path.dirname(default_datafile()), "mnist-idx")
    if not all(os.path.exists(os.path.join(source, name)) for name in FILES.values()):
        raise UserError(f"{source} does not hold the four MNIST .gz files: pass --source DIR (paddle.vision reads "
                        f"them there instead of downloading)")
    out = lab_folder("lab00")
    train_set, test_set = mnist_dataset(source, "train", args.quick), mnist_dataset(source, "test", args.quick)
    image, label = train_set[0]
    print(f"{len(train_set)} training images; image 0: {np.asarray(image).shape}, label {label.shape} {label}")

    # 1. the course's minimal model
    seed_everything(args.seed)
    model = paddle.nn.Linear(in_features=784, out_features=1)
    losses = train(model, train_set, args.epochs)
    print(f"minimal model: last epoch's mean loss {np.mean(losses[-len(losses) // args.epochs:]):.4f}, "
          f"test accuracy (rounded prediction) {100 * test_accuracy(model, test_set):.2f}%")

    # 2. labels of shape [B] against predictions of shape [B, 1]: the loss broadcasts
    predicts, labels = paddle.zeros([16, 1]), paddle.arange(16).astype("float32")
    print(f"square_error_cost of predictions {list(predicts.shape)} and labels {list(labels.shape)} has shape "
          f"{list(F.square_error_cost(predicts, labels).shape)}; with labels {list(labels.reshape([-1, 1]).shape)}: "
          f"{list(F.square_error_cost(predicts, labels.reshape([-1, 1])).shape)}")
    epochs = min(args.epochs, 3)
    curves = {}
    for name, flat in (("labels [B] (broadcast to [B, B])", True), ("labels [B, 1]", False)):
        seed_everything(args.seed)
        model = paddle.nn.Linear(in_features=784, out_features=1)
        losses = train(model, train_set, epochs, flat_labels=flat)
        last = np.mean(losses[-len(losses) // epochs:])
        print(f"{name}: last epoch's mean loss {last:.4f}, test accuracy {100 * test_accuracy(model, test_set):.2f}%")
        curves[name] = (np.arange(len(losses)), np.convolve(losses, np.ones(50) / 50, mode="same"))
    all_labels = np.asarray(train_set.dataset.labels)[list(train_set.indices)] if args.quick else train_set.labels
    print(f"the labels' variance, where the broadcast loss settles: {np.var(all_labels):.4f}")
    path = plot_curves(curves, f"{out}/label_shapes.png", "Linear(784, 1), MSE: label shape (mean of 50 batches)",
                       logy=True)
    print(f"figure: {path}")


if __name__ == "__main__":
    run_main(main)
