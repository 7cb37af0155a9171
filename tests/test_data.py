"""The course file and its loader: splits, batching, shuffling, shapes, pixel range, cache and bad files;
the streaming reader against json.load; where the file is found (project, MNIST_JSON, AI Studio)."""
import gzip
import json
import os
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest
from PIL import Image

from conftest import SIZES
from digits import coursejson, data, datafile as datafile_module
from digits.coursejson import read_course_json
from digits.data import IMAGE, cache_paths, load_course_data, load_data, restroked, shifted, warped
from digits.dataset import MnistDataset
from digits.errors import UserError
from digits.idx import read_source
from digits.datafile import find_datafile
from digits.prepare import ensure_datafile, prepare, rescaled_copy


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
    turned = warped(images, 20, 0, background)
    expected = np.stack([np.asarray(Image.fromarray(image.reshape(28, 28), mode="F").rotate(
        -angle, resample=Image.Resampling.BILINEAR, fillcolor=background)) for image, angle in zip(images, angles)])
    np.testing.assert_allclose(turned.reshape(-1, 28, 28), expected, atol=1e-4)
    assert np.abs(turned - images).max() > 1  # really turned
    np.testing.assert_array_equal(warped(images, 0, 0, background), images)  # no angle, no change


def test_scaling_resizes_each_training_image_as_pillow_does(small_datafile):
    """--scale S with --rotate D: each image turned and resized about its centre by its own angle and
    factor in [1 - S, 1 + S]; checked against Pillow's bilinear affine transform with the same numbers."""
    images = load_course_data(small_datafile)["train"][0][:50]
    background = load_course_data(small_datafile).pixel_range[0]
    np.random.seed(4)
    angles = np.deg2rad(np.random.uniform(-15, 15, size=50))
    scales = np.random.uniform(0.75, 1.25, size=50)
    np.random.seed(4)
    warped_images = warped(images, 15, 0.25, background).reshape(-1, 28, 28)
    for image, angle, scale, result in zip(images, angles, scales, warped_images):
        # Pillow maps each output point (x, y), measured from the image's centre (14, 14), to the input point
        a, b, d, e = np.cos(angle) / scale, np.sin(angle) / scale, -np.sin(angle) / scale, np.cos(angle) / scale
        expected = Image.fromarray(image.reshape(28, 28), mode="F").transform(
            (28, 28), Image.Transform.AFFINE, (a, b, 14 - 14 * (a + b), d, e, 14 - 14 * (d + e)),
            resample=Image.Resampling.BILINEAR, fillcolor=background)
        np.testing.assert_allclose(result, np.asarray(expected), atol=1e-4)
    assert np.abs(warped_images - images.reshape(-1, 28, 28)).max() > 1  # really changed


def test_stroke_thickens_or_thins_each_training_image(small_datafile):
    """--stroke W: each image blended by |w| towards its dilation (w > 0) or erosion (w < 0) over
    itself and its four neighbours; checked against a plain loop over pixels."""
    images = load_course_data(small_datafile)["train"][0][:20]
    background = load_course_data(small_datafile).pixel_range[0]
    np.random.seed(5)
    widths = np.random.uniform(-0.8, 0.8, size=20)
    np.random.seed(5)
    result = restroked(images, 0.8, background).reshape(-1, 28, 28)
    for image, width, got in zip(images.reshape(-1, 28, 28), widths, result):
        padded = np.pad(image, 1, constant_values=background)
        pick = max if width > 0 else min
        target = np.array([[pick(padded[r + 1, c + 1], padded[r, c + 1], padded[r + 2, c + 1],
                                 padded[r + 1, c], padded[r + 1, c + 2]) for c in range(28)] for r in range(28)])
        np.testing.assert_allclose(got, image + abs(width) * (target - image), atol=1e-5)
        ink_change = got.sum() - image.sum()
        assert ink_change > 0 if width > 0 else ink_change < 0  # thicker strokes carry more ink


# --- the streaming reader: json.load's numbers, bit for bit ------------------------------------------

def json_load_arrays(path):
    """The reference: json.load, converted as the course's loader converts it."""
    with gzip.open(path, "rt") as f:
        splits = json.load(f)
    return [(np.asarray(imgs, dtype=np.float32).reshape(len(imgs), -1), np.asarray(labels, dtype=np.int64))
            for imgs, labels in splits]


def assert_reads_as_json_load(path):
    """The reader recognises the file and gives json.load's float32 images and labels, bit for bit."""
    read = read_course_json(str(path))
    assert read is not None, "the reader fell back to json.load"
    for (images, labels), (expected_images, expected_labels) in zip(read, json_load_arrays(path), strict=True):
        assert images.dtype == np.float32 and images.shape == expected_images.shape
        assert images.tobytes() == expected_images.tobytes()  # bit for bit: -0.0 and 0.0 differ here
        assert np.asarray(labels, dtype=np.int64).tolist() == expected_labels.tolist()


@pytest.mark.parametrize("piece", [None, 4099, 65536], ids=["default-pieces", "pieces-under-an-image", "small-pieces"])
def test_the_reader_gives_json_loads_numbers(small_datafile, monkeypatch, piece):
    # small pieces put piece edges everywhere: inside numbers, labels, between splits
    if piece:
        monkeypatch.setattr(coursejson, "PIECE", piece)
    assert_reads_as_json_load(small_datafile)


def variant(small_datafile, tmp_path, name, count=30, pixels=lambda images: images.tolist(),
            labels=lambda labels: labels.tolist(), **dump):
    """The first `count` images of each split of the small file, written with json.dump(**dump)."""
    course = json_load_arrays(small_datafile)
    path = tmp_path / f"{name}.json.gz"
    with gzip.open(path, "wt") as f:
        json.dump([[pixels(images[:count]), labels(labels_[:count])] for images, labels_ in course], f, **dump)
    return path


@pytest.mark.parametrize("name, options", [
    ("json-dump-default", {}),                                   # ", " between numbers, as the course's json.dump
    ("indented", {"indent": 1}),                                 # a number per line, indented
    ("compact", {"separators": (",", ":")}),
    ("float64-pixels", {"pixels": lambda images: ((images + 1) * 127.5 / 127.5 - 1).astype(np.float64).tolist()}),
    ("x-over-255-pixels", {"pixels": lambda images: (np.rint((images + 1) * 127.5) / 255).tolist()}),
    ("integer-pixels", {"pixels": lambda images: np.rint((images + 1) * 127.5).astype(int).tolist()}),
    ("float-labels", {"labels": lambda labels: labels.astype(float).tolist()}),
], ids=lambda value: value if isinstance(value, str) else "")
def test_json_dump_variants_read_as_json_load_reads_them(small_datafile, tmp_path, monkeypatch, name, options):
    monkeypatch.setattr(coursejson, "PIECE", 20011)
    assert_reads_as_json_load(variant(small_datafile, tmp_path, name, **options))


def write_text(path, text):
    with gzip.open(path, "wt") as f:
        f.write(text)
    return path


def image_text(values, separator=","):
    return "[" + separator.join(values) + "]"


def test_unusual_number_texts_and_whitespace_read_as_json_load_reads_them(tmp_path, monkeypatch):
    monkeypatch.setattr(coursejson, "PIECE", 3001)
    # ints and floats, exponents, both zeros, a text longer than the reader's 24-byte keys, whitespace of every
    # JSON kind around numbers and brackets
    texts = ["-1.0", "-1", "1", "0", "-0", "-0.0", "0.0", "1e-05", "-5E-1", "0.5e0", "2.5E-1",
             "0.1000000000000000055511151231257827021181583404541015625", " \t-0.25\r\n ", "\n0.75"]
    images = [[texts[(i * 7 + j) % len(texts)] if j % 5 else "-1.0" for j in range(784)] for i in range(9)]
    split = " [ \n[" + ",\n".join(image_text(image) for image in images) + "\t] ,\r\n[" + \
            ", ".join(str(i % 10) for i in range(9)) + "] ]"
    path = write_text(tmp_path / "odd.json.gz", "\n [" + " ,".join([split] * 3) + "]\n\n")
    assert_reads_as_json_load(path)


@pytest.mark.parametrize("text", ["+1", "01", ".5", "1.", "1e", "-", "NaN", "Infinity", "1 2", "0x10", "--1"])
def test_numbers_json_refuses_are_refused(tmp_path, text):
    # the reader does not accept what json.load would not: it hands the file to json.load, which says why
    image = image_text([text] + ["-1.0"] * 783)
    path = write_text(tmp_path / "bad.json.gz", f"[[[{image}],[1]],[[{image}],[2]],[[{image}],[3]]]")
    assert read_course_json(str(path)) is None
    with pytest.raises(UserError) as error:
        load_course_data(str(path))
    assert "\n" not in str(error.value)
    if text not in ("NaN", "Infinity"):  # json.load reads these, the pixel range check refuses them
        assert "is not valid JSON" in str(error.value)


@pytest.mark.parametrize("text, refusal", [
    ("[[[{i}],[1]],[[{i}],[2]],[[{i}],[3]]]", None),                   # one image per split: valid
    ("[[[{i}],[1]],[[{i}],[2]],[[],[]]]", "has no eval images"),        # an empty eval split
    ('[[[{i}],[1]],[[{i}],["two"]],[[{i}],[3]]]', "labels must be whole numbers 0-9, found 'two'"),  # a word
    ("[[[{i}],[1]],[[{i}],[2]],[[{i}],[3]]] []", "is not valid JSON"),  # text after the end
    ("[[[{i}],[1]],[[{i}],[2]]]", "wrong structure"),                   # two splits
    ("[[[{i}],[1]],[[{i}],[2]],[[{i}],[3]],[[{i}],[4]]]", "wrong structure"),  # four
    ("[[[{i}],[1]],[[{i}],[2]],[[{short}],[3]]]", "783 values each, expected 784"),
    ("[[[{i}],[1]],[[{i}],[2]],[[{i}],[3]]", "is not valid JSON"),      # unclosed
])
def test_other_layouts_go_to_json_load(tmp_path, text, refusal):
    image, short = image_text(["0.5"] * 784), image_text(["0.5"] * 783)
    path = write_text(tmp_path / "other.json.gz", text.format(i=image, short=short))
    assert read_course_json(str(path)) is None
    if refusal:
        with pytest.raises(UserError, match=refusal):
            load_course_data(str(path))
    else:
        loaded = load_course_data(str(path))
        assert [len(loaded[mode][0]) for mode in data.MODES] == [1, 1, 1]
        assert loaded["valid"][0].tolist() == [[0.5] * 784] and loaded["valid"][1].tolist() == [2]


def test_giving_up_midway_leaves_json_load_to_read_the_file(small_datafile, monkeypatch):
    # past the vocabulary limit the reader gives up while jobs and the reading thread are running: they
    # stop, and the load still gives json.load's arrays
    threads = threading.active_count()
    monkeypatch.setattr(coursejson, "VOCABULARY_LIMIT", 20)
    monkeypatch.setattr(coursejson, "PIECE", 65536)
    assert read_course_json(str(small_datafile)) is None
    assert threading.active_count() == threads
    parsed = data._parse_course_json(str(small_datafile))
    for (images, labels), mode in zip(json_load_arrays(small_datafile), data.MODES):
        assert parsed[mode][0].tobytes() == images.tobytes() and parsed[mode][1].tolist() == labels.tolist()


def test_a_file_of_several_gzip_members_reads_as_json_load_reads_it(small_datafile, tmp_path):
    # gzip allows concatenated members; the last one's length field then undercounts the text
    with gzip.open(small_datafile, "rb") as f:
        text = f.read()
    path = tmp_path / "members.json.gz"
    path.write_bytes(b"".join(gzip.compress(text[i:i + 100_000]) for i in range(0, len(text), 100_000)))
    assert_reads_as_json_load(path)


def test_damaged_gzip_is_refused_by_the_reader_too(small_datafile, tmp_path):
    raw = bytearray(open(small_datafile, "rb").read())
    raw[len(raw) // 2] ^= 0x55  # a flipped byte in the compressed stream: a zlib error or a failed CRC
    damaged = tmp_path / "damaged.json.gz"
    damaged.write_bytes(bytes(raw))
    with pytest.raises(UserError, match="is not a complete gzip file") as error:
        load_course_data(str(damaged))
    assert "\n" not in str(error.value)


def test_the_full_file_loads_within_budget_if_present():
    """On the full course file (when the project has one): the reader's peak memory stays well under
    json.load's. Run in a child so its max RSS is its own."""
    path = datafile_module.project_datafile()
    if not os.path.exists(path):
        pytest.skip("no full course file in work/")
    # the peak as /proc counts it for this program (ru_maxrss would also count the forking test process)
    code = ("import re, sys; from digits.coursejson import read_course_json; "
            "splits = read_course_json(sys.argv[1]); "
            "print([len(images) for images, _ in splits], "
            "re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))")
    done = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, check=True,
                          cwd=datafile_module.PROJECT_ROOT)
    counts, peak_kb = done.stdout.rsplit(" ", 1)
    assert counts == "[50000, 10000, 10000]" and int(peak_kb) / 1024 <= 600


# --- prepare writes the cache ------------------------------------------------------------------------

def test_building_the_file_writes_its_cache_so_the_first_load_does_not_parse(source, tmp_path, capsys,
                                                                              monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    path = prepare(str(tmp_path / "work" / "mnist.json.gz"), source, sizes=(300, 100, 100))
    (cache,) = os.listdir(tmp_path / "work" / ".cache")
    assert cache_paths(path, data.content_key(path))[0] == str(tmp_path / "work" / ".cache" / cache)
    capsys.readouterr()
    data._loaded.clear()
    cached = load_course_data(path)
    assert capsys.readouterr().out == ""  # no "parsing ..." line: read from the cache
    assert cached.pixel_range == (-1.0, 1.0)
    for (images, labels), mode in zip(json_load_arrays(path), data.MODES):  # what a parse would give
        assert cached[mode][0].tobytes() == images.tobytes() and cached[mode][1].tolist() == labels.tolist()
        assert cached[mode][0].dtype == np.float32 and cached[mode][1].dtype == np.int64


# --- where the course file is found --------------------------------------------------------------------

@pytest.fixture
def places(tmp_path, monkeypatch):
    """A project without work/mnist.json.gz, a home and a current folder, all under tmp_path; no MNIST_JSON."""
    folders = {name: tmp_path / name for name in ("project", "home", "cwd")}
    for folder in folders.values():
        folder.mkdir()
    monkeypatch.setattr(datafile_module, "PROJECT_ROOT", str(folders["project"]))
    monkeypatch.setenv("HOME", str(folders["home"]))
    monkeypatch.delenv("MNIST_JSON", raising=False)
    monkeypatch.chdir(folders["cwd"])
    monkeypatch.setattr(datafile_module, "_announced", set())
    return folders


def mount(small_datafile, folder, dataset):
    """Put the course file where AI Studio mounts dataset `dataset`: folder/data/<dataset>/mnist.json.gz."""
    target = folder / "data" / dataset
    target.mkdir(parents=True)
    return str(shutil.copy(small_datafile, target / "mnist.json.gz"))


@pytest.mark.parametrize("where", ["home", "cwd", "project"])
def test_the_ai_studio_dataset_is_found_without_flags(small_datafile, places, capsys, where):
    mounted = mount(small_datafile, places[where], "data65")
    assert find_datafile() == mounted
    assert capsys.readouterr().out == f"using {mounted}, the course file from AI Studio's datasets\n"
    assert find_datafile() == mounted and capsys.readouterr().out == ""  # said once


def test_the_project_file_and_mnist_json_come_before_ai_studio(small_datafile, places, monkeypatch, tmp_path):
    mount(small_datafile, places["home"], "data65")
    project_file = places["project"] / "work" / "mnist.json.gz"
    project_file.parent.mkdir()
    shutil.copy(small_datafile, project_file)
    assert find_datafile() == str(project_file)
    monkeypatch.setenv("MNIST_JSON", str(tmp_path / "mine.json.gz"))  # named, even before it exists
    assert find_datafile() == str(tmp_path / "mine.json.gz")


@pytest.mark.parametrize("where", ["cwd", "home"])
def test_the_course_file_is_found_in_the_courses_own_work_folder(small_datafile, places, capsys, where):
    """The course keeps ./work/mnist.json.gz: under the current folder (a notebook beside work/) and under the
    home folder (~/work is what AI Studio keeps), e.g. with the project unpacked in ~/work/<folder>."""
    mount(small_datafile, places["home"], "data65")  # the course's own file comes before a mounted dataset
    place = places[where] / "work" / "mnist.json.gz"
    place.parent.mkdir()
    shutil.copy(small_datafile, place)
    assert find_datafile() == str(place)
    assert capsys.readouterr().out == f"using {place}, the course file in the course's place (./work/)\n"
    data._loaded.clear()
    assert len(load_course_data()["train"][0]) == SIZES[0]


def test_the_project_file_comes_before_the_courses_places(small_datafile, places):
    for folder in ("project", "cwd", "home"):
        (places[folder] / "work").mkdir()
        shutil.copy(small_datafile, places[folder] / "work" / "mnist.json.gz")
    assert find_datafile() == str(places["project"] / "work" / "mnist.json.gz")
    os.remove(places["project"] / "work" / "mnist.json.gz")
    assert find_datafile() == str(places["cwd"] / "work" / "mnist.json.gz")


def test_several_ai_studio_datasets_give_the_same_choice_and_name_it(small_datafile, places, capsys):
    later = [mount(small_datafile, places["home"], name) for name in ("data120", "data7", "data65")]
    earlier = mount(small_datafile, places["cwd"], "data300")  # the current folder is looked at first
    assert find_datafile() == earlier
    out = capsys.readouterr().out
    # by folder, then by dataset id as a number: data7 before data65 before data120
    assert out == (f"using {earlier}, the course file from AI Studio's datasets (also found: {later[1]}, "
                   f"{later[2]}, {later[0]}; set MNIST_JSON to use another)\n")


def test_no_course_file_anywhere_names_the_places_looked(places):
    with pytest.raises(UserError) as error:
        load_course_data()
    message = str(error.value)
    assert "\n" not in message and message.startswith("no course file found: looked for MNIST_JSON (not set), ")
    for place in (str(places["project"] / "work" / "mnist.json.gz"), str(places["cwd"] / "work" / "mnist.json.gz"),
                  str(places["home"] / "work" / "mnist.json.gz"), "data/data*/mnist.json.gz",
                  str(places["cwd"]), str(places["project"]), str(places["home"])):
        assert place in message
    assert "python -m digits.prepare --source DIR" in message


def test_loading_the_ai_studio_file_writes_nothing_in_the_project_or_beside_a_read_only_mount(
        small_datafile, places, monkeypatch, tmp_path):
    mounted = mount(small_datafile, places["home"], "data65")
    (places["home"] / "data" / "data65" / ".cache").write_text("")  # the mount cannot take a cache folder
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    data._loaded.clear()
    assert ensure_datafile() == mounted  # found: nothing to build
    assert len(load_course_data()["train"][0]) == SIZES[0]
    assert os.listdir(places["project"]) == []  # no work/ folder, no download
    assert os.listdir(tmp_path / "user-cache" / "paddle-digits")  # the cache went to the user's cache folder


def test_a_rescaled_copy_holds_the_same_images_in_the_other_range(tmp_path, small_datafile):
    """Lab 03's [0, 1] copy: the same images and labels, x/255 instead of x/127.5 - 1, parsed as written
    (the cache it writes is dropped so the file itself is read), and written once."""
    original = str(tmp_path / "mnist.json.gz")
    shutil.copy(small_datafile, original)
    copy = rescaled_copy(original, "x/255")
    for cache in cache_paths(copy, data.content_key(copy)):
        if os.path.exists(cache):
            os.remove(cache)
    before, after = load_course_data(original), load_course_data(copy)
    assert before.pixel_range == (-1.0, 1.0) and after.pixel_range == (0.0, 1.0)
    for mode in data.MODES:
        np.testing.assert_allclose(after[mode][0], (before[mode][0] + 1) / 2, atol=1e-6)
        np.testing.assert_array_equal(after[mode][1], before[mode][1])
    written = os.path.getmtime(copy)
    assert rescaled_copy(original, "x/255") == copy and os.path.getmtime(copy) == written
