"""Build the course's data file, work/mnist.json.gz, from the four published MNIST files, and find it.

The file is gzip-compressed JSON [train_set, val_set, eval_set], each [imgs, labels]: imgs are lists
of 784 floats (28x28, row-major), labels ints 0-9. Train is the first 50,000 official training
images, valid the last 10,000, eval the 10,000 official test images, in file order. Pixels are
x/127.5 - 1, in [-1, 1] with background -1, the legacy paddle.dataset convention. Building the file
also writes the loader's array cache (see digits.data), so its first load need not parse it.

    python -m digits.prepare --source ../shared/data/mnist      # from a local folder
    python -m digits.prepare                                    # download from the usual mirrors

Where the course file is looked for, in order: the file MNIST_JSON names; work/mnist.json.gz in the
project; data/data<id>/mnist.json.gz, where AI Studio mounts a project's datasets
(/home/aistudio/data/data<id>/), under the current folder, the project and the home folder.
"""
import argparse
import glob
import gzip
import os

import numpy as np

from . import PROJECT_ROOT
from .errors import UserError, run_main
from .fileio import atomic_path
from .idx import download, read_source

VALID_SIZE = 10_000
FILE_NAME = "mnist.json.gz"
# The value of each of the 256 pixel levels, x/127.5 - 1 in float32: what the file's text spells.
PIXEL_VALUES = np.arange(256, dtype=np.float32) / np.float32(127.5) - np.float32(1)

_announced = set()  # AI Studio files already named in this process's output


def project_datafile():
    """work/mnist.json.gz in the project: where the course keeps its file and prepare builds it."""
    return os.path.join(PROJECT_ROOT, "work", FILE_NAME)


def default_idx_folder():
    """work/mnist-idx in the project: where prepare downloads the four IDX files for the project's file,
    and where the labs that read them look by default (wherever the course file itself was found)."""
    return os.path.join(PROJECT_ROOT, "work", "mnist-idx")


def aistudio_folders():
    """The folders under which AI Studio's data/data<id>/ folders are looked for, in order: the current
    folder, the project and the home folder (AI Studio's home is /home/aistudio), without repeats."""
    try:
        here = [os.getcwd()]
    except FileNotFoundError:  # the current folder was deleted
        here = []
    folders = []
    for folder in (*here, PROJECT_ROOT, os.path.expanduser("~")):
        if os.path.realpath(folder) not in map(os.path.realpath, folders):
            folders.append(folder)
    return folders


def aistudio_datafiles():
    """Every data/data<id>/mnist.json.gz under aistudio_folders(), in a fixed order: by folder, then by
    dataset id (data9 before data10), so the same one comes first on every run."""
    def dataset_order(path):
        name = os.path.basename(os.path.dirname(path))[len("data"):]
        return (int(name), "") if name.isdigit() else (float("inf"), name)

    found = []
    for folder in aistudio_folders():
        for path in sorted(glob.glob(os.path.join(folder, "data", "data*", FILE_NAME)), key=dataset_order):
            if os.path.isfile(path) and os.path.realpath(path) not in map(os.path.realpath, found):
                found.append(path)
    return found


def looked_for():
    """Where find_datafile looks, for messages."""
    return (f"{project_datafile()}, or data/data*/{FILE_NAME} (AI Studio's dataset folders) under "
            + ", ".join(aistudio_folders()))


def find_datafile(required=False):
    """The course file to use: the one MNIST_JSON names, else work/mnist.json.gz when it exists, else
    the first of aistudio_datafiles() (named in the output, with the others found). When there is none:
    work/mnist.json.gz, the place to build it, or with `required` a UserError naming where it looked."""
    if os.environ.get("MNIST_JSON"):
        return os.environ["MNIST_JSON"]
    if os.path.exists(project_datafile()):
        return project_datafile()
    mounted = aistudio_datafiles()
    if mounted:
        if mounted[0] not in _announced:
            _announced.add(mounted[0])
            others = f" (also found: {', '.join(mounted[1:])}; set MNIST_JSON to use another)" if mounted[1:] else ""
            print(f"using {mounted[0]}, the course file from AI Studio's datasets{others}")
        return mounted[0]
    if required:
        raise UserError(f"no course file found: looked for MNIST_JSON (not set), {looked_for()}. Build it with "
                        f"`python -m digits.prepare --source DIR` (or `python train.py`, which builds it), or "
                        f"point MNIST_JSON at your copy")
    return project_datafile()


def default_datafile():
    """The course file to use, or where to build it: see find_datafile."""
    return find_datafile()


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
    text_of = [repr(float(v)) for v in PIXEL_VALUES]
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
        raw = os.path.join(os.path.dirname(os.path.abspath(path)), "mnist-idx")  # work/mnist-idx by default
        arrays, _ = read_source(download(raw, mirrors))
    splits = course_splits(arrays, sizes)
    print(f"writing {path}: train {len(splits[0][0])}, valid {len(splits[1][0])}, eval {len(splits[2][0])} images")
    write_course_file(splits, path)
    from .data import MODES, cache_course_arrays  # digits.data imports this module: import it here
    cache_course_arrays(path, {mode: (PIXEL_VALUES[images.reshape(len(images), -1)], labels.astype(np.int64))
                               for mode, (images, labels) in zip(MODES, splits)})
    return path


def ensure_datafile(path=None, source=None):
    """Return the course file's path, building it first when it is missing.

    The source is `source`, else the MNIST_SOURCE environment variable, else a download.
    """
    chosen = path or find_datafile()
    if os.path.exists(chosen):
        return chosen
    source = source or os.environ.get("MNIST_SOURCE")
    how = f"from {source}" if source else "by downloading MNIST"
    if path or os.environ.get("MNIST_JSON"):
        print(f"{chosen} is missing: building it {how}")
    else:
        print(f"no course file found (looked for {looked_for()}): building {chosen} {how}")
    try:
        return prepare(chosen, source)
    except UserError as e:
        raise UserError(f"{chosen} is missing and could not be built: {e}") from None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", help="folder with the four MNIST .gz files (default: download them)")
    parser.add_argument("--out", default=None, help="file to write (default: work/mnist.json.gz)")
    parser.add_argument("--sizes", type=int, nargs=3, metavar=("TRAIN", "VALID", "EVAL"),
                        help="keep only the first N images of each split (a small file for tests)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the file exists")
    args = parser.parse_args()
    out = args.out or os.environ.get("MNIST_JSON") or project_datafile()
    if os.path.exists(out) and not args.force:
        raise UserError(f"{out} already exists: pass --force to rebuild it")
    prepare(out, args.source or os.environ.get("MNIST_SOURCE"), args.sizes)


if __name__ == "__main__":
    run_main(main)
