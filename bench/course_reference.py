"""The course's own data loader, as the course writes it: the baseline the benchmarks compare against.

It parses the whole gzip JSON on every call and builds each batch from per-sample np.array calls.
Used only by bench/; the project's loader is digits/data.py.
"""
import gzip
import json
import random

import numpy as np


def course_load_data(datafile, mode="train", batch_size=100):
    train_set, val_set, eval_set = json.load(gzip.open(datafile))
    imgs, labels = {"train": train_set, "valid": val_set, "eval": eval_set}[mode]
    index_list = list(range(len(imgs)))

    def data_generator():
        if mode == "train":
            random.shuffle(index_list)
        imgs_list, labels_list = [], []
        for i in index_list:
            imgs_list.append(np.array(imgs[i]).astype("float32"))
            labels_list.append(np.reshape(labels[i], [1]).astype("float32"))
            if len(imgs_list) == batch_size:
                yield np.array(imgs_list), np.array(labels_list)
                imgs_list, labels_list = [], []
        if imgs_list:
            yield np.array(imgs_list), np.array(labels_list)

    return data_generator
