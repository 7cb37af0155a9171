"""Build the course's data file, work/mnist.json.gz, from the four published MNIST files.

The file is gzip-compressed JSON [train_set, val_set, eval_set], each [imgs, labels]: imgs are lists
of 784 floats (28x28, row-major), labels ints 0-9. Train is the first 50,000 official training
images, valid the last 10,000, eval the 10,000 official test images, in file order. Pixels are
x/127.5 - 1, in [-1, 1] with background -1, the legacy paddle.dataset convention.

    python -m digits.prepare --source ../shared/data/mnist      # from a local folder
    python -m digits.prepare                                    # download from the usual mirrors
"""
import argparse
import gzip
import os

import numpy as np

from . import PROJECT_ROOT
from .errors import UserError, run_main
from .fileio import atomic_path
from .idx import download, read_source

VALID_SIZE = 10_000


def default_datafile():
    """work/mnist.json.gz in the project, or the file named by the MNIST_JSON environment variable."""
    return os.environ.get("MNIST_JSON") or os.path.join(PROJECT_ROOT, "work", "mnist.json.gz")


def course_splits(arrays, sizes=None):
    """Split the four arrays into the course's (train, valid, eval) image/label pairs.

    `sizes` = (n_train, n_valid, n_eval) keeps only the first n of each split: a subset for tests.
    """
    train_images, train_labels = arrays["train_images"], arrays["train_labels"]
    if len(train_images) <= VALID_SIZE:
        raise UserError(f"the training file holds {len(train_images)} images: at least {VALID_SIZE + 1} "
                        f"are needed, the last {VALID_SIZE} become the validation split")
    cut = len(train_images) - VALID_SIZE
    splits = [(train_images[:cut], train_labels[:cut]),
              (train_images[cut:], train_labels[cut:]),
              (arrays["test_images"], arrays["test_labels"])]
    if sizes:
        if min(sizes[:2]) < 1:
            raise UserError(f"--sizes {' '.join(map(str, sizes))} leaves the train or valid split empty: "
                            f"training needs at least one image in each")
        splits = [(images[:n], labels[:n]) for (images, labels), n in zip(splits, sizes)]
    return splits


def write_course_file(splits, path):
    """Write the splits as the course's gzip JSON, atomically. Pixels become x/127.5 - 1 (float32)."""
    # Only 256 pixel values exist, so format each once and join strings: fast, and exact.
    values = np.arange(256, dtype=np.float32) / np.float32(127.5) - np.float32(1)
    text_of = [repr(float(v)) for v in values]
    with atomic_path(path) as tmp:
        with gzip.open(tmp, "wt", encoding="ascii", compresslevel=6) as f:
            f.write("[")
            for s, (images, labels) in enumerate(splits):
                f.write(",[[" if s else "[[")
                for i, image in enumerate(images.reshape(len(images), -1)):
                    f.write(",[" if i else "[")
                    f.write(",".join([text_of[v] for v in image.tolist()]))
                    f.write("]")
                f.write("],[" + ",".join(map(str, labels.tolist())) + "]]")
            f.write("]")
    return path


def prepare(path=None, source=None, sizes=None, mirrors=None):
    """Build the course file at `path` from `source` (a folder) or, without one, by downloading."""
    path = path or default_datafile()
    if source:
        arrays, published = read_source(source)
        print(f"source {source}: " + ("the published MNIST (checksums match)" if published else
                                      "valid IDX files, but not the published MNIST: using them as given"))
    else:
        raw = os.path.join(os.path.dirname(os.path.abspath(path)), "mnist-idx")
        arrays, _ = read_source(download(raw, mirrors))
    splits = course_splits(arrays, sizes)
    print(f"writing {path}: train {len(splits[0][0])}, valid {len(splits[1][0])}, eval {len(splits[2][0])} images")
    return write_course_file(splits, path)


def ensure_datafile(path=None, source=None):
    """Return the course file's path, building it first when it is missing.

    The source is `source`, else the MNIST_SOURCE environment variable, else a download.
    """
    path = path or default_datafile()
    if os.path.exists(path):
        return path
    source = source or os.environ.get("MNIST_SOURCE")
    print(f"{path} is missing: building it " + (f"from {source}" if source else "by downloading MNIST"))
    try:
        return prepare(path, source)
    except UserError as e:
        raise UserError(f"{path} is missing and could not be built: {e}") from None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", help="folder with the four MNIST .gz files (default: download them)")
    parser.add_argument("--out", default=None, help="file to write (default: work/mnist.json.gz)")
    parser.add_argument("--sizes", type=int, nargs=3, metavar=("TRAIN", "VALID", "EVAL"),
                        help="keep only the first N images of each split (a small file for tests)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the file exists")
    args = parser.parse_args()
    out = args.out or default_datafile()
    if os.path.exists(out) and not args.force:
        raise UserError(f"{out} already exists: pass --force to rebuild it")
    prepare(out, args.source or os.environ.get("MNIST_SOURCE"), args.sizes)


if __name__ == "__main__":
    run_main(main)
