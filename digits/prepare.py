"""Build the course's data file, work/mnist.json.gz, from the four published MNIST files, and find it.

The file is gzip-compressed JSON [train_set, val_set, eval_set], each [imgs, labels]: imgs are lists
of 784 floats (28x28, row-major), labels ints 0-9. Train is the first 50,000 official training
images, valid the last 10,000, eval the 10,000 official test images, in file order. Pixels are
x/127.5 - 1, in [-1, 1] with background -1, the legacy paddle.dataset convention. Building the file
also writes the loader's array cache (see digits.data), so its first load need not parse it.

    python -m digits.prepare --source ../shared/data/mnist      # from a local folder
    python -m digits.prepare                                    # download from the usual mirrors

Where the file is looked for: digits.datafile.
"""
import argparse
import gzip
import io
import os

import numpy as np

from .data import MODES, cache_course_arrays, content_key, load_course_data
from .datafile import default_datafile, default_idx_folder, find_datafile, looked_for, project_datafile, user_cache_folder
from .errors import UserError, run_main
from .fileio import atomic_path
from .idx import FILES, download, read_source

VALID_SIZE = 10_000
# The value of each of the 256 pixel levels in float32, what the file's text spells: x/127.5 - 1 by default
PIXEL_SCALES = {"x/127.5-1": np.arange(256, dtype=np.float32) / np.float32(127.5) - np.float32(1),  # in [-1, 1]
                "x/255": np.arange(256, dtype=np.float32) / np.float32(255)}  # in [0, 1]

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
        if len(sizes) != 3 or min(sizes) < 1:
            raise UserError(f"--sizes {' '.join(map(str, sizes))}: give three whole numbers of at least 1 (train, "
                            f"valid, eval): training needs images in each split")
        splits = [(images[:n], labels[:n]) for (images, labels), n in zip(splits, sizes)]
    return splits


def write_course_file(splits, path, pixels="x/127.5-1"):
    """Write the splits as the course's gzip JSON, atomically. Pixels become PIXEL_SCALES[pixels] (float32)."""
    # Only 256 pixel values exist, so format each once and join strings: fast, and exact.
    text_of = [repr(float(v)) for v in PIXEL_SCALES[pixels]]
    with atomic_path(path) as tmp, open(tmp, "wb") as raw:
        # mtime 0 in the gzip header: the same splits give the same bytes, so a rebuilt file is the same file
        # to a run that records which file it was trained on (its content hash)
        with io.TextIOWrapper(gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=6, mtime=0),
                              encoding="ascii") as f:
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


def prepare(path=None, source=None, sizes=None, mirrors=None, pixels="x/127.5-1"):
    """Build the course file at `path` from `source` (a folder) or, without one, by downloading; its pixels
    in the range `pixels` names (a key of PIXEL_SCALES)."""
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
    write_course_file(splits, path, pixels)
    cache_course_arrays(path, {mode: (PIXEL_SCALES[pixels][images.reshape(len(images), -1)], labels.astype(np.int64))
                               for mode, (images, labels) in zip(MODES, splits)})
    return path


def rescaled_copy(datafile, pixels):
    """The course file `datafile` with its pixels as `pixels` says ("x/255": [0, 1]; "x/127.5-1": [-1, 1]):
    the same images in the same order, written once (beside the file, or in the user's cache folder when
    that folder is read-only, as AI Studio's dataset mounts are) under a name holding the file's content
    key, then reused. Lab 03 and bench/cnn_regression_arms.py train on both ranges."""
    if pixels not in PIXEL_SCALES:
        raise UserError(f"pixels {pixels!r}: give one of {', '.join(PIXEL_SCALES)}")
    folder = os.path.dirname(os.path.abspath(datafile))
    if not os.access(folder, os.W_OK):
        folder = user_cache_folder()
        os.makedirs(folder, exist_ok=True)
    stem = os.path.basename(datafile).split(".")[0]
    path = os.path.join(folder, f"{stem}-{content_key(datafile)}-{pixels.replace('/', '_')}.json.gz")
    if os.path.exists(path):
        return path
    data = load_course_data(datafile)
    background, ink = data.pixel_range
    splits = [(np.rint((data[mode][0] - background) * (255 / (ink - background))).astype(np.uint8), data[mode][1])
              for mode in MODES]
    print(f"writing {path}: the images of {datafile} as {pixels}")
    write_course_file(splits, path, pixels)
    cache_course_arrays(path, {mode: (PIXEL_SCALES[pixels][images], labels.astype(np.int64))
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


def ensure_idx_folder(source=None):
    """A folder holding the four MNIST .gz files, for the labs that read them directly (00 and 12): `source`,
    else MNIST_SOURCE, else work/mnist-idx, where they are downloaded (and checked against the published
    checksums) when missing. Offline, one line says what to do."""
    given = source or os.environ.get("MNIST_SOURCE")
    if given:
        missing = [name for name in FILES.values() if not os.path.isfile(os.path.join(given, name))]
        if missing:
            raise UserError(f"{given} does not hold the MNIST file(s) {', '.join(missing)}: pass the folder of the "
                            f"four .gz files (--source DIR or MNIST_SOURCE), or leave both unset to download them")
        return given
    folder = default_idx_folder()
    try:
        return download(folder)
    except UserError:
        raise UserError(f"the four MNIST .gz files are not in {folder} and could not be downloaded (offline?): "
                        f"copy them there, or pass their folder with --source DIR (or MNIST_SOURCE)") from None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", help="folder with the four MNIST .gz files (default: download them)")
    parser.add_argument("--out", default=None, help="file to write (default: work/mnist.json.gz)")
    parser.add_argument("--sizes", type=int, nargs=3, metavar=("TRAIN", "VALID", "EVAL"),
                        help="keep only the first N images of each split (a small file for tests)")
    parser.add_argument("--pixels", choices=list(PIXEL_SCALES), default="x/127.5-1",
                        help="each pixel's value from its level x in 0-255: x/127.5-1, in [-1, 1] as the course's "
                             "file (default), or x/255, in [0, 1]")
    parser.add_argument("--force", action="store_true", help="rebuild even if the file exists")
    args = parser.parse_args()
    out = args.out or os.environ.get("MNIST_JSON") or project_datafile()
    if os.path.exists(out) and not args.force:
        raise UserError(f"{out} already exists: pass --force to rebuild it")
    prepare(out, args.source or os.environ.get("MNIST_SOURCE"), args.sizes, pixels=args.pixels)


if __name__ == "__main__":
    run_main(main)
