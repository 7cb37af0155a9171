"""Reading, validating and downloading the published MNIST files."""
import gzip
import os
import shutil

import numpy as np
import pytest

from conftest import folder_handler
from digits.errors import UserError
from digits.idx import FILES, download, read_idx, read_source
from digits.prepare import ensure_datafile


def test_the_shared_folder_is_the_published_mnist(source):
    arrays, published = read_source(source)
    assert published
    assert arrays["train_images"].shape == (60000, 28, 28)
    assert arrays["test_labels"].shape == (10000,)
    assert np.bincount(arrays["test_labels"]).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def copy_source(source, dest):
    os.makedirs(dest, exist_ok=True)
    for name in FILES.values():
        shutil.copy(os.path.join(source, name), dest)
    return dest


def test_other_data_in_the_same_format_is_accepted_but_not_called_mnist(source, tmp_path):
    folder = copy_source(source, tmp_path / "other")
    raw = bytearray(gzip.open(folder / FILES["test_labels"]).read())
    raw[8] = (raw[8] + 1) % 10  # one relabelled digit: valid IDX, no longer the published content
    with gzip.open(folder / FILES["test_labels"], "wb") as f:
        f.write(bytes(raw))
    arrays, published = read_source(str(folder))
    assert not published and arrays["test_labels"][0] == raw[8]


def test_a_folder_missing_a_file_is_refused_by_name(source, tmp_path):
    folder = copy_source(source, tmp_path / "partial")
    os.remove(folder / FILES["train_labels"])
    with pytest.raises(UserError, match="lacks train-labels-idx1-ubyte.gz"):
        read_source(str(folder))


@pytest.mark.parametrize("damage, message", [
    (lambda data: data[: len(data) // 2], "not a complete gzip file"),        # truncated download
    (lambda data: b"<html>not found</html>", "not a complete gzip file"),     # not gzip at all
    (lambda data: gzip.compress(gzip.decompress(data)[:-100]), "header promises"),  # short content
    (lambda data: gzip.compress(b"\x00\x00\x09\x99" + gzip.decompress(data)[4:]), "magic number"),
])
def test_damaged_files_are_refused_with_what_to_do(source, tmp_path, damage, message):
    path = tmp_path / FILES["test_labels"]
    path.write_bytes(damage(open(os.path.join(source, FILES["test_labels"]), "rb").read()))
    with pytest.raises(UserError, match=message) as error:
        read_idx(str(path))
    assert "\n" not in str(error.value)


@pytest.fixture
def mirror(serve):
    """Serve a folder over HTTP on 127.0.0.1; yields a function that returns the folder's URL."""
    return lambda folder: serve(folder_handler(folder))


def test_download_fetches_and_verifies_the_four_files(source, tmp_path, mirror):
    dest = download(str(tmp_path / "raw"), [mirror(source)])
    arrays, published = read_source(dest)
    assert published and len(arrays["train_images"]) == 60000


def test_a_corrupted_download_is_refused_and_never_lands(source, tmp_path, mirror):
    bad = copy_source(source, tmp_path / "bad-mirror")
    raw = bytearray(gzip.open(bad / FILES["train_labels"]).read())
    raw[100] ^= 1
    with gzip.open(bad / FILES["train_labels"], "wb") as f:
        f.write(bytes(raw))
    dest = tmp_path / "raw"
    with pytest.raises(UserError, match="has checksum .* the published train-labels-idx1-ubyte.gz has"):
        download(str(dest), [mirror(bad)])
    assert not (dest / FILES["train_labels"]).exists()
    assert not [f for f in os.listdir(dest) if f.endswith(".tmp")]
    # A good mirror after the bad one is used instead.
    download(str(dest), [mirror(bad), mirror(source)])
    assert read_source(str(dest))[1]


def test_missing_data_file_with_no_source_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_SOURCE", raising=False)
    monkeypatch.setenv("MNIST_MIRRORS", "http://127.0.0.1:9/")  # nothing listens on the discard port
    with pytest.raises(UserError, match="is missing and could not be built.*--source DIR or MNIST_SOURCE"):
        ensure_datafile(str(tmp_path / "mnist.json.gz"))
