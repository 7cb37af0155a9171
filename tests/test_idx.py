"""Reading, validating and downloading the published MNIST files."""
import gzip
import os
import shutil

import numpy as np
import pytest

from conftest import folder_handler
from digits.errors import UserError
from digits.idx import FILES, download, read_idx, read_source
from digits import datafile as datafile_module
from digits.prepare import ensure_datafile, ensure_idx_folder


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


def test_the_labs_that_read_idx_files_download_them_once_when_online(source, tmp_path, mirror, monkeypatch, capsys):
    """Labs 00 and 12 read the four files themselves: without --source or MNIST_SOURCE they are fetched into
    work/mnist-idx through the checked download, once; offline, one line says what to do."""
    monkeypatch.delenv("MNIST_SOURCE", raising=False)
    monkeypatch.setattr(datafile_module, "PROJECT_ROOT", str(tmp_path))
    monkeypatch.setenv("MNIST_MIRRORS", "http://127.0.0.1:9/")  # offline: nothing listens on the discard port
    with pytest.raises(UserError) as error:
        ensure_idx_folder()
    message = str(error.value)
    assert "\n" not in message and "could not be downloaded (offline?)" in message and "--source DIR" in message
    monkeypatch.setenv("MNIST_MIRRORS", mirror(source))
    folder = ensure_idx_folder()
    assert folder == str(tmp_path / "work" / "mnist-idx") and read_source(folder)[1]  # the published files
    capsys.readouterr()
    assert ensure_idx_folder() == folder and "downloading" not in capsys.readouterr().out  # kept: not fetched again
    assert ensure_idx_folder(source) == source
    with pytest.raises(UserError, match="does not hold the MNIST file"):
        ensure_idx_folder(str(tmp_path))


def test_an_idx_bomb_is_refused_from_its_header_and_a_longer_file_without_reading_it_all(tmp_path):
    """A header that promises 4 GB, or a file whose data runs far past what its header promises: refused with
    a bounded read (a 1.5 MB gzip can unpack to gigabytes)."""
    import struct
    huge = tmp_path / "huge-images-idx3-ubyte.gz"
    with gzip.open(huge, "wb") as f:
        f.write(struct.pack(">IIII", 2051, 5_000_000, 28, 28))
    with pytest.raises(UserError, match="header promises 3,920,000,000 bytes of data, far more than a digit set"):
        read_idx(str(huge))
    longer = tmp_path / "longer-labels-idx1-ubyte.gz"
    with gzip.open(longer, "wb", compresslevel=9) as f:
        f.write(struct.pack(">II", 2049, 10))
        for _ in range(64):
            f.write(bytes(1 << 24))  # a gigabyte of zeros after the 10 labels the header promises
    with pytest.raises(UserError, match="holds more bytes but its header promises 18: the file is truncated or corrupt"):
        read_idx(str(longer))
