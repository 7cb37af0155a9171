"""The four published MNIST files (IDX format, gzip): read, validate, verify and download them.

IDX layout: a big-endian header (magic 2051 for images, 2049 for labels, then the item count and,
for images, rows and columns), followed by one uint8 per pixel or label.
"""
import glob
import gzip
import hashlib
import http.client
import os
import struct
import sys
import time
import urllib.error
import urllib.request
import zlib

import numpy as np

from .errors import UserError
from .fileio import atomic_path, temp_prefix

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

# md5 of the unpacked bytes of the published files. They identify the content whatever gzip
# settings a mirror used (one common copy of train-images was re-compressed).
PUBLISHED_MD5 = {
    "train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637",
}

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049


MAX_ITEMS = 100_000_000  # bytes an IDX header may promise: MNIST's largest file holds 47 MB; more is no digit set


def read_idx(path):
    """Read one IDX .gz file; return (array, md5 of the unpacked bytes). Raises UserError if malformed.
    The header is read and checked first, then exactly the bytes it promises (and one more, to tell a longer
    file): a small file that unpacks to gigabytes costs no more than the header allows."""
    name = os.path.basename(path)
    replace = f"replace it with the published {name}"
    try:
        with gzip.open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise UserError(f"{path} is too short to be an IDX file: {replace}")
            magic, count = struct.unpack(">II", head)
            if magic == IMAGE_MAGIC:
                dimensions = f.read(8)
                if len(dimensions) < 8:
                    raise UserError(f"{path} has a truncated IDX header: {replace}")
                rows, cols = struct.unpack(">II", dimensions)
                head, shape = head + dimensions, (count, rows, cols)
            elif magic == LABEL_MAGIC:
                shape = (count,)
            else:
                raise UserError(f"{path} is not an IDX image or label file (magic number {magic}, expected "
                                f"{IMAGE_MAGIC} or {LABEL_MAGIC})")
            promised = int(np.prod(shape, dtype=np.int64))
            if promised > MAX_ITEMS:
                raise UserError(f"{path}'s header promises {promised:,} bytes of data, far more than a digit set "
                                f"holds: {replace}")
            body = f.read(promised + 1)
    except FileNotFoundError:
        raise UserError(f"{path} does not exist") from None
    except (OSError, EOFError, zlib.error) as e:
        raise UserError(f"{path} is not a complete gzip file ({e}): {replace}") from None
    if len(body) != promised:
        held = f"{len(head) + len(body)} bytes" if len(body) <= promised else "more bytes"
        raise UserError(f"{path} holds {held} but its header promises {len(head) + promised}: the file is "
                        f"truncated or corrupt, {replace}")
    raw = head + body
    array = np.frombuffer(raw, dtype=np.uint8, offset=len(head)).reshape(shape)
    return array, hashlib.md5(raw).hexdigest()


def read_source(folder):
    """Read and validate the four files from `folder`.

    Returns (arrays, published) where arrays has keys train_images, train_labels, test_images,
    test_labels and `published` says whether every file matches the published MNIST content.
    """
    if not os.path.isdir(folder):
        raise UserError(f"source folder {folder} does not exist: point --source (or MNIST_SOURCE) at "
                        f"the folder holding the four MNIST .gz files")
    missing = [f for f in FILES.values() if not os.path.exists(os.path.join(folder, f))]
    if missing:
        raise UserError(f"source folder {folder} lacks {', '.join(missing)}: it needs all four MNIST "
                        f"files ({', '.join(FILES.values())})")
    arrays, published = {}, True
    for key, name in FILES.items():
        arrays[key], md5 = read_idx(os.path.join(folder, name))
        published &= md5 == PUBLISHED_MD5[name]
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise UserError(f"{split} images in {folder} are {images.shape[1:]} pixels, expected 28x28")
        if len(images) != len(labels):
            raise UserError(f"{folder} has {len(images)} {split} images but {len(labels)} {split} labels: "
                            f"the image and label files must come from the same dataset")
        if labels.size and labels.max() > 9:
            raise UserError(f"{split} labels in {folder} go up to {labels.max()}, expected digits 0-9")
    return arrays, published


def download(dest, mirrors=None, timeout=30, deadline=300):
    """Download the four files into `dest`, verifying each against the published checksums.

    Files already present with the published content are kept. Each file is tried on each mirror in
    turn; a download whose content does not match is refused and never lands in `dest`. `timeout`
    bounds each network read, `deadline` a whole file: a mirror that trickles bytes is given up
    after it (checked between reads, so at most `timeout` later) and the next one is tried.
    """
    mirrors = mirrors or os.environ.get("MNIST_MIRRORS", "").split() or MIRRORS
    os.makedirs(dest, exist_ok=True)
    remove_stale_partials(dest, timeout)
    for name, md5 in PUBLISHED_MD5.items():
        target = os.path.join(dest, name)
        if os.path.exists(target) and _content_md5(target) == md5:
            continue
        failures = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + name
            print(f"downloading {url}")
            try:
                with atomic_path(target) as tmp:
                    _fetch(url, tmp, timeout, deadline)
                    got = _content_md5(tmp)
                    if got != md5:
                        raise ChecksumMismatch(f"{url} has checksum {got}, the published {name} has {md5}")
                break
            except ChecksumMismatch as e:
                failures.append(str(e))
            except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
                failures.append(f"{url}: {getattr(e, 'reason', e)}")
            print(f"  failed: {failures[-1]}")
        else:
            raise UserError(f"could not download {name} ({'; '.join(failures)}): download the four MNIST "
                            f"files by hand and pass their folder with --source DIR or MNIST_SOURCE")
    return dest


def _fetch(url, path, timeout, deadline):
    """Save `url` to `path`, giving up once `deadline` seconds have passed; show progress on a terminal."""
    give_up_at = time.monotonic() + deadline
    show = sys.stdout.isatty()
    with urllib.request.urlopen(url, timeout=timeout) as response, open(path, "wb", buffering=0) as out:
        total, done, shown_at = int(response.headers.get("Content-Length") or 0), 0, 0.0
        # read1 returns what has arrived, so a slow mirror is checked against the deadline as it goes;
        # unbuffered writes keep the partial file's time current (see remove_stale_partials)
        while block := response.read1(1 << 16):
            out.write(block)
            done += len(block)
            if time.monotonic() > give_up_at:
                raise TimeoutError(f"not finished after {deadline:g} s ({done} of {total or '?'} bytes), too slow")
            if show and (time.monotonic() - shown_at > 0.2 or done == total):
                shown_at = time.monotonic()
                of_total = f" of {_size(total)} ({100 * done // total}%)" if total else ""
                print(f"\r  {_size(done)}{of_total}", end="", flush=True)
    if show:
        print()


def _size(count):
    return f"{count / 1e6:.1f} MB" if count >= 1e6 else f"{count / 1e3:.0f} kB"


def remove_stale_partials(dest, timeout):
    """Remove the partial files of downloads that were killed (a crash, SIGKILL, a power cut).

    A running download writes its partial file at least every `timeout` seconds, or its read times
    out and it removes the file itself: an older one belongs to no live download.
    """
    for name in PUBLISHED_MD5:
        for stale in glob.glob(os.path.join(glob.escape(dest), glob.escape(temp_prefix(name)) + "*.tmp")):
            try:
                if time.time() - os.path.getmtime(stale) > timeout:
                    os.remove(stale)
            except FileNotFoundError:  # its download has just finished or cleaned up
                pass


class ChecksumMismatch(Exception):
    pass


def _content_md5(path):
    try:
        with gzip.open(path, "rb") as f:
            digest = hashlib.md5()
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
            return digest.hexdigest()
    except (OSError, EOFError, zlib.error):
        return "not a valid gzip file"
