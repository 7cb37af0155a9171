"""The course file and its loader: splits, batching, shuffling, shapes, pixel range, cache and bad files."""
import gzip
import json
import os

import numpy as np
import pytest
from PIL import Image

from conftest import SIZES
from digits.data import IMAGE, load_course_data, load_data, rotated, shifted
from digits.dataset import MnistDataset
from digits.errors import UserError
from digits.idx import read_source
from digits.prepare import prepare


def test_splits_follow_the_course_layout(small_datafile, source):
    arrays, _ = read_source(source)
    data = load_course_data(small_datafile)
    assert [len(data[m][0]) for m in ("train", "valid", "eval")] == list(SIZES)
    # train starts at the first official training image, valid at image 50,000, eval at the first test image
    for mode, images, labels in (("train", arrays["train_images"], arrays["train_labels"]),
                                 ("valid", arrays["train_images"][50000:], arrays["train_labels"][50000:]),
                                 ("eval", arrays["test_images"], arrays["test_labels"])):
        got_images, got_labels = data[mode]
        np.testing.assert_allclose(got_images[:3], images[:3].reshape(3, 784) / 127.5 - 1, atol=1e-6)
        assert got_labels[:50].tolist() == labels[:50].tolist()
    assert data.pixel_range == (-1.0, 1.0)


def test_the_file_is_the_course_json(small_datafile):
    with gzip.open(small_datafile, "rt") as f:
        train_set, val_set, eval_set = json.load(f)
    assert len(train_set[0]) == SIZES[0] and len(train_set[0][0]) == 784 and isinstance(train_set[1][0], int)
    assert min(train_set[0][0]) == -1.0 and max(max(image) for image in train_set[0][:10]) == 1.0


def batches(loader):
    return list(loader())


def test_batches_keep_the_last_partial_one(small_datafile):
    sizes = [len(images) for images, _ in batches(load_data("valid", 300, datafile=small_datafile))]
    assert sizes == [300, 200]


def test_only_train_mode_is_shuffled(small_datafile):
    np.random.seed(0)
    for mode in ("valid", "eval"):
        first, second = (np.concatenate([l for _, l in batches(load_data(mode, datafile=small_datafile))]) for _ in range(2))
        np.testing.assert_array_equal(first, second)
        np.testing.assert_array_equal(first[:, 0], load_course_data(small_datafile)[mode][1])
    train = load_data("train", datafile=small_datafile)
    first, second = (np.concatenate([l for _, l in batches(train)]) for _ in range(2))
    assert not np.array_equal(first, second)  # a new order every epoch...
    assert sorted(first[:, 0]) == sorted(second[:, 0])  # ...of the same images


def test_shapes_and_dtypes_for_each_model_and_loss(small_datafile):
    images, labels = next(load_data("train", datafile=small_datafile)())
    assert (images.shape, images.dtype, labels.shape, labels.dtype) == ((100, 784), np.float32, (100, 1), np.float32)
    images, labels = next(load_data("eval", 64, image_shape=IMAGE, label_dtype="int64", datafile=small_datafile)())
    assert (images.shape, images.dtype, labels.shape, labels.dtype) == ((64, 1, 28, 28), np.float32, (64, 1), np.int64)


def test_paddle_dataset_variant_matches(small_datafile):
    dataset = MnistDataset("eval", image_shape=IMAGE, label_dtype="int64", datafile=small_datafile)
    image, label = dataset[3]
    images, labels = load_course_data(small_datafile)["eval"]
    assert len(dataset) == SIZES[2] and image.shape == (1, 28, 28) and label.tolist() == [labels[3]]
    np.testing.assert_array_equal(image.reshape(-1), images[3])


def test_unknown_mode_is_refused(small_datafile):
    with pytest.raises(UserError, match="mode can only be one of"):
        load_data("test", datafile=small_datafile)


def write_json(path, data):
    with gzip.open(path, "wt") as f:
        json.dump(data, f)
    return str(path)


def small_splits(datafile, scale=1.0, offset=0.0, count=20):
    data = load_course_data(datafile)
    return [[(data[m][0][:count] * scale + offset).tolist(), data[m][1][:count].tolist()] for m in ("train", "valid", "eval")]


def test_a_zero_to_one_file_is_detected_and_read(small_datafile, tmp_path):
    # the AI Studio file may store pixels in [0, 1]; it must be read unchanged and its range reported
    path = write_json(tmp_path / "unit.json.gz", small_splits(small_datafile, 0.5, 0.5))
    data = load_course_data(path)
    assert data.pixel_range == (0.0, 1.0)
    np.testing.assert_allclose(data["train"][0], load_course_data(small_datafile)["train"][0][:20] * 0.5 + 0.5, atol=1e-6)


def test_the_cache_follows_the_file(small_datafile, tmp_path):
    path = write_json(tmp_path / "course.json.gz", small_splits(small_datafile, count=10))
    assert len(load_course_data(path)["train"][0]) == 10
    cached = os.listdir(tmp_path / ".cache")
    assert len(cached) == 1
    write_json(path, small_splits(small_datafile, count=12))  # the same name, new content
    assert len(load_course_data(path)["train"][0]) == 12
    assert len(os.listdir(tmp_path / ".cache")) == 2


@pytest.mark.parametrize("content, message", [
    ({"train": []}, "wrong structure"),
    ([[[], []], [[], []]], "wrong structure"),
    ([[[[0.0] * 784] * 2, [1]], [[], []], [[], []]], r"length of train_imgs\(2\) should be the same as train_labels\(1\)"),
    ([[[[0.0] * 784, [0.0] * 700], [1, 2]], [[], []], [[], []]], "not lists of numbers of equal length"),
    ([[[[0.0] * 700], [1]], [[], []], [[], []]], "700 values each, expected 784"),
    ([[[[0.0] * 784], [12]], [[], []], [[], []]], "labels must be digits 0-9"),
    ([[[[300.0] * 784], [1]], [[], []], [[], []]], r"pixels in \[300, 300\]"),
])
def test_bad_json_is_refused_in_one_line(tmp_path, content, message):
    path = write_json(tmp_path / "bad.json.gz", content)
    with pytest.raises(UserError, match=message) as error:
        load_course_data(path)
    assert "\n" not in str(error.value)


def test_not_gzip_or_truncated_files_are_refused(small_datafile, tmp_path):
    text = tmp_path / "plain.json.gz"
    text.write_text("[]")
    with pytest.raises(UserError, match="not a complete gzip file"):
        load_course_data(str(text))
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(open(small_datafile, "rb").read()[:5000])
    with pytest.raises(UserError, match="not a complete gzip file"):
        load_course_data(str(cut))


def test_a_missing_file_says_how_to_build_it(tmp_path):
    with pytest.raises(UserError, match="not found: run `python -m digits.prepare"):
        load_course_data(str(tmp_path / "nothing.json.gz"))


def test_prepare_never_leaves_a_half_written_file(source, tmp_path):
    target = tmp_path / "mnist.json.gz"
    target.write_bytes(b"previous")
    with pytest.raises(UserError):
        prepare(str(target), str(tmp_path / "no-such-folder"))
    assert target.read_bytes() == b"previous" and os.listdir(tmp_path) == ["mnist.json.gz"]


def moved_by(image, dy, dx, background):
    """The 28x28 image moved down dy and right dx pixels, background filling the uncovered border."""
    out = np.full((28, 28), background, dtype=image.dtype)
    out[max(dy, 0):28 + min(dy, 0), max(dx, 0):28 + min(dx, 0)] = image[max(-dy, 0):28 - max(dy, 0),
                                                                        max(-dx, 0):28 - max(dx, 0)]
    return out


def test_shifts_move_each_training_image(small_datafile):
    """--shift N: every image moved by at most N pixels per axis, the same image moved differently
    on another call (epoch), and valid/eval never moved."""
    images, _ = load_course_data(small_datafile)["train"]
    background = load_course_data(small_datafile).pixel_range[0]
    np.random.seed(0)
    moved = shifted(images[:200], 2, background)
    assert moved.shape == images[:200].shape
    for original, result in zip(images[:200].reshape(-1, 28, 28), moved.reshape(-1, 28, 28)):
        found = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                 if np.array_equal(moved_by(original, dy, dx, background), result)]
        assert found, "each image is its original, shifted by at most 2 pixels"
    assert not np.array_equal(moved, images[:200])
    assert not np.array_equal(shifted(images[:200], 2, background), moved)  # new offsets every call
    np.random.seed(0)
    plain = np.concatenate([i for i, _ in batches(load_data("eval", datafile=small_datafile, shift=2))])
    np.testing.assert_array_equal(plain, load_course_data(small_datafile)["eval"][0])


def test_rotations_turn_each_training_image_as_pillow_does(small_datafile):
    """--rotate D: each image turned by its own angle in [-D, D]; checked against Pillow's bilinear
    rotation by the same angles (Pillow counts counter-clockwise, so the opposite sign)."""
    images = load_course_data(small_datafile)["train"][0][:50]
    background = load_course_data(small_datafile).pixel_range[0]
    np.random.seed(3)
    angles = np.random.uniform(-20, 20, size=50)
    np.random.seed(3)
    turned = rotated(images, 20, background)
    expected = np.stack([np.asarray(Image.fromarray(image.reshape(28, 28), mode="F").rotate(
        -angle, resample=Image.Resampling.BILINEAR, fillcolor=background)) for image, angle in zip(images, angles)])
    np.testing.assert_allclose(turned.reshape(-1, 28, 28), expected, atol=1e-4)
    assert np.abs(turned - images).max() > 1  # really turned
    np.testing.assert_array_equal(rotated(images, 0, background), images)  # no angle, no change
