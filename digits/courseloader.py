"""The course's own loader, as lab 01 writes it out: the baseline the speed ladder (lab 15) and the benchmarks start from.

It parses the whole gzip JSON file on every call and builds each batch from per-sample np.array calls;
the one change from the course is lab 01's: the index list is shuffled with NumPy's RNG, so one seed
fixes it. The project's loader, digits.data.load_data, yields the same batches from cached arrays.
"""
import gzip
import json

import numpy as np


def load_data(mode="train", datafile="./work/mnist.json.gz", batch_size=100):
    """A generator function over (images [B, 784], labels [B]) float32 batches of `mode`."""
    train_set, val_set, eval_set = json.load(gzip.open(datafile))
    imgs, labels = {"train": train_set, "valid": val_set, "eval": eval_set}[mode]
    index_list = list(range(len(imgs)))

    def data_generator():
        if mode == "train":
            np.random.shuffle(index_list)
        imgs_list, labels_list = [], []
        for i in index_list:
            imgs_list.append(np.array(imgs[i]).astype("float32"))
            labels_list.append(np.array(labels[i]).astype("float32"))
            if len(imgs_list) == batch_size:
                yield np.array(imgs_list), np.array(labels_list)
                imgs_list, labels_list = [], []
        if imgs_list:
            yield np.array(imgs_list), np.array(labels_list)

    return data_generator
