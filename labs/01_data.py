"""Lab 01 · 数据处理 — Data processing.

The course keeps MNIST in one file, work/mnist.json.gz: [train_set, val_set, eval_set], each
[imgs, labels]. This lab loads it the course's way — load_data(mode) returns a generator function
that yields shuffled batches in train mode — checks what comes out, looks at a few digits, and
then does the same with Paddle's own Dataset/DataLoader (the course's asynchronous variant).

    python labs/01_data.py
"""
import numpy as np

import digits  # noqa: F401  (quiets Paddle's logging; import before paddle)
import paddle
from digits.data import IMAGE, MODES, load_course_data, load_data
from digits.dataset import MnistDataset
from digits.errors import run_main
from digits.lab import lab_arguments, lab_folder, parse_lab_arguments
from digits.plots import plot_digits
from digits.prepare import ensure_datafile


def main():
    parse_lab_arguments(lab_arguments(__doc__, epochs=0))
    out = lab_folder("lab01")
    data = load_course_data(ensure_datafile())

    for mode in MODES:
        images, labels = data[mode]
        print(f"{mode:5s}: {len(images)} images, {len(labels)} labels")

    # Machine check (机器校验): what one batch looks like.
    train_loader = load_data("train", batch_size=100)
    images, labels = next(train_loader())
    print(f"first train batch: images {images.shape} {images.dtype}, labels {labels.shape} {labels.dtype}")
    cnn_images, class_labels = next(load_data("eval", image_shape=IMAGE, label_dtype="int64")())
    print(f"for the CNN, as classes: images {cnn_images.shape}, labels {class_labels.shape} {class_labels.dtype}")

    # Validity checks: counts, pixel range and labels are what the models expect.
    background, ink = data.pixel_range
    all_images, all_labels = data["train"]
    print(f"pixels in [{all_images.min():g}, {all_images.max():g}]: the file uses [{background:g}, {ink:g}], "
          f"background {background:g}")
    print(f"labels {all_labels.min()}..{all_labels.max()}, train class counts {np.bincount(all_labels).tolist()}")
    assert images.shape == (100, 784) and labels.shape == (100, 1)

    # Human check (人工校验): look at the digits with their labels.
    print(f"wrote {plot_digits(images[:30], labels[:30, 0].astype(int), f'{out}/samples.png', 'train samples and labels')}")

    # The asynchronous variant: a paddle.io.Dataset, batched and shuffled by paddle.io.DataLoader.
    loader = paddle.io.DataLoader(MnistDataset("train"), batch_size=100, shuffle=True, drop_last=True)
    images, labels = next(iter(loader))
    print(f"DataLoader: {len(loader)} batches per epoch, images {images.shape}, labels {labels.shape} {labels.dtype}")


if __name__ == "__main__":
    run_main(main)
