"""The course's data loader, over arrays parsed once and cached next to the JSON file.

The course parses work/mnist.json.gz with json.load (about 15 s and 2.6 GB) every time it loads a
split. Here the JSON is parsed once, by a streaming reader (digits.coursejson) that gives json.load's
exact numbers in a fraction of its time and memory, or by json.load itself for files laid out
otherwise; its arrays are cached as .npz beside it (or, when its folder is read-only, in the user's
cache folder), keyed by the file's content hash, so a changed file is parsed again; a damaged cache is
noticed and rebuilt. digits.prepare writes the cache along with the file it builds. Batches are
slices of those arrays. The interface stays the course's: load_data(mode) returns a generator
function yielding (images, labels) batches.
"""
import gzip
import hashlib
import json
import os
import zlib

import numpy as np

# the augmentations (shifted, warped and restroked lived here: `from digits.data import shifted` still works)
from .augment import blurred, distorted, restroked, shifted, warped  # noqa: F401
from .coursejson import read_course_json
from .errors import UserError
from .fileio import atomic_path
from .datafile import find_datafile, user_cache_folder

MODES = ("train", "valid", "eval")
FLAT = (784,)          # images for the MLP
IMAGE = (1, 28, 28)    # images for the CNN: channels, rows, columns
PIXEL_RANGES = ((-1.0, 1.0), (0.0, 1.0))

_loaded = {}  # (path, content key) -> splits, so one process parses and reads each file once


class CourseData:
    """The three splits of a course file as arrays, and the pixel range the file uses."""

    def __init__(self, splits, pixel_range, key=None):
        self.splits = splits            # mode -> (images float32 [N, 784], labels int64 [N])
        self.pixel_range = pixel_range  # (background, ink), e.g. (-1.0, 1.0)
        self.key = key                  # the file's content hash (16 hex digits): which file a run was trained on

    def __getitem__(self, mode):
        if mode not in MODES:
            raise UserError(f"mode can only be one of {list(MODES)}, not {mode!r}")
        return self.splits[mode]


def load_course_data(datafile=None):
    """Load a course file's arrays, from the cache when it is current, else by parsing the JSON.
    Without `datafile`, the file digits.datafile.find_datafile finds (MNIST_JSON, work/, AI Studio)."""
    path = datafile or find_datafile(required=True)
    if not os.path.exists(path):
        raise UserError(f"{path} not found: run `python -m digits.prepare --source DIR` (or `python train.py`, "
                        f"which builds it), or point MNIST_JSON at your copy")
    if not os.path.isfile(path):  # a folder, or a device such as /dev/zero that hashing would read forever
        raise UserError(f"{path} is not a regular file: name the course's mnist.json.gz file")
    key = content_key(path)
    if (path, key) in _loaded:
        return _loaded[path, key]
    caches = cache_paths(path, key)
    found, damaged = None, []
    for cache in filter(os.path.exists, caches):
        found = _read_cache(cache)
        if found:
            break
        damaged.append(cache)
    if found:
        splits, pixel_range = found
    else:
        for cache in damaged:
            print(f"the cache {cache} was damaged: rebuilding it from {path}")
        if not damaged:
            print(f"parsing {path} once; later loads read its cache")
        splits = _parse_course_json(path)
        pixel_range = detect_pixel_range(splits, path)
    for mode in MODES:
        if not len(splits[mode][0]):
            raise UserError(f"{path} has no {mode} images: training needs a train and a valid split and its "
                            f"final evaluation an eval split; rebuild it with `python -m digits.prepare`")
    if not found:
        _write_cache(caches, splits, pixel_range, path)
    data = _loaded[path, key] = CourseData(splits, pixel_range, key)
    return data


def cache_course_arrays(path, splits):
    """Write the cache of the course file at `path` from `splits` (mode -> (images float32 [N, 784],
    labels int64 [N])), which must be the arrays parsing the file gives: digits.prepare, having just
    written the file from these arrays, saves its first load the parse. Returns the cache's path."""
    pixel_range = detect_pixel_range(splits, path)
    return _write_cache(cache_paths(path, content_key(path)), splits, pixel_range, path)


def cache_paths(path, key):
    """Where the cache of a course file may be, in order: beside it, else (a read-only data folder) the
    user's cache folder. The name holds the file's content key, so a changed file is parsed again."""
    name = f"{os.path.basename(path)}.{key}.npz"
    return [os.path.join(os.path.dirname(os.path.abspath(path)), ".cache", name),
            os.path.join(user_cache_folder(), name)]


def _read_cache(cache):
    """The cached (splits, pixel_range), or None when the file is damaged: truncated, bit-flipped (the
    zip's checksums catch that) or holding arrays of the wrong kind."""
    try:
        with np.load(cache) as arrays:
            splits = {m: (arrays[f"{m}_images"], arrays[f"{m}_labels"]) for m in MODES}
            pixel_range = tuple(float(v) for v in arrays["pixel_range"])
    except Exception:  # damaged bytes make zipfile's and NumPy's parsers raise almost any error type
        return None
    for images, labels in splits.values():
        if not (images.dtype == np.float32 and images.ndim == 2 and images.shape[1] == 784
                and labels.dtype == np.int64 and labels.shape == (len(images),)):
            return None
    if pixel_range not in PIXEL_RANGES:
        return None
    return splits, pixel_range


def _write_cache(caches, splits, pixel_range, path):
    """Write the cache to the first of `caches` that can be written."""
    failures = []
    for cache in caches:
        try:
            with atomic_path(cache) as tmp:
                with open(tmp, "wb") as f:
                    np.savez(f, pixel_range=np.array(pixel_range), **{
                        f"{m}_{part}": a for m, pair in splits.items() for part, a in zip(("images", "labels"), pair)})
            return cache
        except OSError as e:
            failures.append(f"{os.path.dirname(cache)}: {e.strerror or e}")
    raise UserError(f"cannot cache the arrays of {path} ({'; '.join(failures)}): make one of these folders "
                    f"writable, or set XDG_CACHE_HOME to a writable folder")


def batches_per_epoch(count, batch_size):
    """How many batches `count` images make, the last one smaller when they do not divide evenly (as the
    course's loader and load_data keep it)."""
    return -(-count // batch_size)


def load_data(mode="train", batch_size=100, *, image_shape=FLAT, label_dtype="float32", datafile=None, shard=None,
              shift=0, rotate=0, scale=0, stroke=0, aspect=0, slant=0, elastic_alpha=0, elastic_sigma=4.0,
              blur=0):
    """The course's loader: return a generator function over (images, labels) batches of `mode`.

    Train mode is shuffled on every pass (NumPy's global RNG, so --seed fixes it); valid and eval are
    in file order. The last, partial batch is kept. Images are float32 [B, *image_shape]; labels are
    [B, 1] of `label_dtype`: float32 for regression, int64 for classification.
    shard=(rank, world_size) gives each process of a data-parallel run its own equal share of every
    epoch: all ranks draw the same order (same seed) and take every world_size-th image of it.
    shift=N (train mode only) moves each training image by a random offset of up to N pixels in each
    direction, a new one every epoch: augmentation, so the network learns that position doesn't matter.
    rotate=D (train mode only) first turns each one by a random angle of up to D degrees either way,
    scale=S resizes it by a random factor in [1 - S, 1 + S], and before that stroke=W thickens or thins
    its strokes by up to W pixels on each side: other writers' pens, sizes and slants.
    aspect=A resizes its width only, by a factor in [1 - A, 1 + A], slant=S shears it horizontally by a
    factor in [-S, S], and elastic_alpha=A distorts it by a random displacement field smoothed by a
    Gaussian of elastic_sigma pixels and scaled by A (Simard et al. 2003): a writer's narrower or wider
    digits, slant and wobble, sampled in one go with the turn and the resizing; blur=B then softens half
    of them by a Gaussian of up to B pixels, its contrast stretched back (a blunt pen, a coarse scan).
    The functions, with their maths, are in digits.augment; an option at 0 draws no random numbers, so
    runs without it draw what they always drew.
    """
    data = load_course_data(datafile)
    images, labels = data[mode]
    count = len(images)
    background, augment = data.pixel_range[0], mode == "train"

    def data_generator():
        order = np.random.permutation(count) if mode == "train" else None
        if shard:
            rank, world_size = shard
            order = (np.arange(count) if order is None else order)[rank::world_size][:count // world_size]
        for start in range(0, len(order) if order is not None else count, batch_size):
            batch = order[start:start + batch_size] if order is not None else slice(start, start + batch_size)
            batch_images = images[batch]
            if stroke and augment:
                batch_images = restroked(batch_images, stroke, background)
            if (aspect or slant or elastic_alpha) and augment:  # turn, resize, narrow, slant, wobble: one sampling
                batch_images = distorted(batch_images, rotate, scale, slant, elastic_alpha, elastic_sigma, background,
                                         max_aspect=aspect)
            elif (rotate or scale) and augment:
                batch_images = warped(batch_images, rotate, scale, background)
            if blur and augment:
                batch_images = blurred(batch_images, blur, background)
            if shift and augment:
                batch_images = shifted(batch_images, shift, background)
            yield (batch_images.reshape(-1, *image_shape),
                   labels[batch].reshape(-1, 1).astype(label_dtype))

    return data_generator


def detect_pixel_range(splits, path="the data file"):
    """Tell which pixel range a course file uses: [-1, 1] (legacy paddle.dataset) or [0, 1]."""
    if not any(images.size for images, _ in splits.values()):
        raise UserError(f"{path} holds no images: rebuild it with `python -m digits.prepare`")
    low = min(float(images.min()) for images, _ in splits.values() if images.size)
    high = max(float(images.max()) for images, _ in splits.values() if images.size)
    for background, ink in PIXEL_RANGES:
        if background - 1e-6 <= low and high <= ink + 1e-6 and (background == 0.0 or low < -0.5):
            return background, ink
    raise UserError(f"{path} has pixels in [{low:g}, {high:g}]: expected [-1, 1] or [0, 1], rebuild it with "
                    f"`python -m digits.prepare`")


def content_key(path):
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


MAX_UNPACKED = 768 << 20  # bytes: the full course file unpacks to about 420 MB; json.load takes ~6x that in memory


def _unpacked_text(path):
    """The file's unpacked text for json.load, refused past MAX_UNPACKED (a gzip of whitespace can unpack to
    gigabytes from a megabyte)."""
    with gzip.open(path, "rb") as f:
        text = f.read(MAX_UNPACKED + 1)
    if len(text) > MAX_UNPACKED:
        raise UserError(f"{path} unpacks to more than {MAX_UNPACKED >> 20} MB, far more than a course file: it is "
                        f"no course file; rebuild it with `python -m digits.prepare`")
    return text.decode("utf-8")


def _kind_of(values):
    """NumPy's kind letter for nested lists ("f" float, "i" int, "U" text, "b" bool, "O" mixed); ragged lists
    count as numbers here: the conversion that follows says what is wrong with them."""
    try:
        return np.asarray(values).dtype.kind
    except ValueError:
        return "f"


def _parse_course_json(path):
    """The checked arrays of a course file, read by the streaming reader, or by json.load when the
    reader does not recognise the layout (json.load then also words any error)."""
    try:
        data = read_course_json(path)
        if data is None:
            data = json.loads(_unpacked_text(path))
    except (OSError, EOFError, zlib.error) as e:
        raise UserError(f"{path} is not a complete gzip file ({e}): rebuild it with `python -m digits.prepare`") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise UserError(f"{path} is not valid JSON ({e}): rebuild it with `python -m digits.prepare`") from None
    except RecursionError:
        raise UserError(f"{path} nests its lists deeper than a course file does: it is no course file; rebuild it "
                        f"with `python -m digits.prepare`") from None
    layout = "expected [train_set, val_set, eval_set], each [imgs, labels]"
    if not (isinstance(data, list) and len(data) == 3 and all(isinstance(s, (list, tuple)) and len(s) == 2
                                                              for s in data)):
        raise UserError(f"{path} has the wrong structure ({layout}): rebuild it with `python -m digits.prepare`")
    splits = {}
    for i, mode in enumerate(MODES):
        imgs, labels = data[i]
        data[i] = None  # free each split's Python lists as soon as it is converted
        if len(imgs) != len(labels):
            # The course's own length check, with what to do about it.
            raise UserError(f"{path}: length of {mode}_imgs({len(imgs)}) should be the same as "
                            f"{mode}_labels({len(labels)}); rebuild it with `python -m digits.prepare`")
        if any(type(label) is not int for label in labels):  # not 7.7, True or "7": np.int64 would take them
            wrong = next(label for label in labels if type(label) is not int)
            raise UserError(f"{path}: the {mode} labels must be whole numbers 0-9, found {wrong!r}; rebuild it with "
                            f"`python -m digits.prepare`")
        if not isinstance(imgs, np.ndarray) and len(imgs) and _kind_of(imgs[:64]) not in "fiu":
            raise UserError(f"{path}: the {mode} images must be lists of numbers (found {str(imgs[0])[:40]}...); "
                            f"rebuild it with `python -m digits.prepare`")
        try:
            images = (np.asarray(imgs, dtype=np.float32).reshape(len(imgs), -1) if len(imgs)
                      else np.zeros((0, 784), np.float32))
            label_array = np.asarray(labels, dtype=np.int64).reshape(-1)
        except (ValueError, TypeError):
            raise UserError(f"{path}: the {mode} split is not lists of numbers of equal length ({layout}, imgs "
                            f"lists of 784 floats, labels ints)") from None
        if images.shape[1] != 784:
            raise UserError(f"{path}: {mode} images have {images.shape[1]} values each, expected 784 (28x28)")
        if label_array.size and (label_array.min() < 0 or label_array.max() > 9):
            raise UserError(f"{path}: {mode} labels must be digits 0-9, found {label_array.min()}..{label_array.max()}")
        splits[mode] = (images, label_array)
    return splits
