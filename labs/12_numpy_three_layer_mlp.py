"""Lab 12 · NumPy track — the three-layer MLP lab of an intelligent-computing-systems course.

FullyConnected -> ReLU -> FullyConnected -> ReLU -> FullyConnected -> SoftmaxLoss, reading MNIST
straight from the four IDX files (pixels / 255, no JSON), the last 10,000 training images held out
for validation. SGD lr 0.01 with a learning-rate decay; the parameters of the epoch with the best
validation loss are saved in the run folder, and they are the ones tested. The lab report's study,
re-run: hidden sizes 32/16, 128/128 and 64/32, batch 100 against batch 16, and the decay on and off.
The report says a batch of 10-20 lifted accuracy to 97-98% and that the decay did not matter.

    python labs/12_numpy_three_layer_mlp.py --source ../shared/data/mnist
"""
import digits  # noqa: F401  (first: it sets NumPy's BLAS threads before NumPy loads)
import os

import numpy as np

from digits.errors import UserError, run_main
from digits.idx import read_source
from digits.lab import lab_arguments, lab_folder, parse_lab_arguments
from digits.numpy_nn import SGD, mlp, train
from digits.prepare import default_datafile

# (hidden sizes, batch size, per-epoch decay of the learning rate)
STUDY = [((32, 16), 100, 0.9), ((128, 128), 100, 0.9), ((64, 32), 100, 0.9),
         ((32, 16), 16, 0.9), ((128, 128), 16, 0.9), ((64, 32), 16, 0.9),
         ((64, 32), 16, 1.0)]


def main():
    parser = lab_arguments(__doc__, epochs=10)
    parser.add_argument("--source", help="folder of the four MNIST .gz files (default: MNIST_SOURCE, or work/mnist-idx)")
    args = parse_lab_arguments(parser)
    out = lab_folder("lab12")
    source = args.source or os.environ.get("MNIST_SOURCE") or os.path.join(os.path.dirname(default_datafile()), "mnist-idx")
    if not os.path.isdir(source):
        raise UserError(f"{source} does not exist: this lab reads the IDX files themselves, pass --source DIR")
    arrays, _ = read_source(source)
    images = arrays["train_images"].reshape(-1, 784).astype(np.float32) / 255
    labels = arrays["train_labels"].astype(np.int64)
    train_split, valid_split = (images[:-10_000], labels[:-10_000]), (images[-10_000:], labels[-10_000:])
    test_split = (arrays["test_images"].reshape(-1, 784).astype(np.float32) / 255, arrays["test_labels"].astype(np.int64))
    if args.quick:  # a smoke test: a slice of each split
        train_split, valid_split, test_split = ((x[:2000], y[:2000]) for x, y in (train_split, valid_split, test_split))

    rows = []
    for hidden, batch_size, decay in STUDY:
        print(f"--- hidden {hidden}, batch {batch_size}, decay {decay}")
        network = mlp([784, *hidden, 10], "relu", seed=args.seed)
        best_path = f"{out}/{'-'.join(map(str, hidden))}-batch{batch_size}-decay{decay:g}.npz"
        best = {"valid_loss": float("inf")}

        def keep_best(record):
            if record["valid_loss"] < best["valid_loss"]:
                best.update(valid_loss=record["valid_loss"], epoch=record["epoch"])
                network.save(best_path)
                record["note"] = "  (best so far: parameters saved)"

        history = train(network, SGD(0.01, decay=decay), train_split, valid_split, epochs=args.epochs,
                        batch_size=batch_size, seed=args.seed, after_epoch=keep_best)
        network.load(best_path)
        seconds = np.mean([r["seconds"] for r in history])
        rows.append((hidden, batch_size, decay, best["epoch"], network.accuracy(*test_split), seconds))

    print(f"\n{'hidden':>10s} {'batch':>5s} {'decay':>5s} {'best epoch':>10s} {'test acc':>9s} {'s/epoch':>8s}")
    for hidden, batch_size, decay, epoch, accuracy, seconds in rows:
        print(f"{'/'.join(map(str, hidden)):>10s} {batch_size:5d} {decay:5g} {epoch:10d} {100 * accuracy:8.2f}% {seconds:8.2f}")


if __name__ == "__main__":
    run_main(main)
