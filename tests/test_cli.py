"""train.py, eval.py and the user-image path, run as a user runs them."""
import gzip
import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from conftest import run_script
from digits.errors import UserError
from digits.evaluation import photo_label
from digits.idx import FILES
from digits.preprocess import digit_photo, load_digit, to_mnist


@pytest.fixture(scope="module")
def trained(tmp_path_factory, small_datafile):
    """One short CNN run through train.py; returns (run folder, its eval accuracy)."""
    folder = tmp_path_factory.mktemp("cli")
    done = run_script(["train.py", "--epochs", "2", "--batch-size", "50", "--out", str(folder / "cnn")], folder,
                      small_datafile)
    assert done.returncode == 0, done.stderr
    assert "epoch: 0, batch: 0, loss is:" in done.stdout and "img/s" in done.stdout
    with open(folder / "cnn" / "metrics.jsonl") as f:
        accuracy = [json.loads(line) for line in f][-1]["accuracy"]
    return folder / "cnn", accuracy


def test_eval_reports_the_accuracy_training_measured(trained, small_datafile):
    run, accuracy = trained
    done = run_script(["eval.py", str(run)], run, small_datafile)
    assert done.returncode == 0, done.stderr
    assert "eval: 500 images, loss " in done.stdout and f"accuracy {100 * accuracy:.2f}%" in done.stdout
    assert done.stdout.count("  digit ") == 10
    assert (run / "confusion-eval.png").exists()


def digit_photos(source, tmp_path, count):
    """Real test digits drawn as photos: dark ink on light paper, larger, off-centre, with a margin."""
    raw = gzip.open(os.path.join(source, FILES["test_images"])).read()
    images = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)[:count]
    labels = np.frombuffer(gzip.open(os.path.join(source, FILES["test_labels"])).read(), np.uint8, offset=8)[:count]
    paths = [digit_photo(image, str(tmp_path / f"digit{i}.jpg"), offset=(20 + 7 * i, 30)) for i, image in enumerate(images)]
    return paths, images, labels


def test_a_photo_becomes_the_mnist_digit_it_shows(source, tmp_path):
    paths, images, _ = digit_photos(source, tmp_path, 5)
    for path, original in zip(paths, images):
        for pixel_range in ((-1.0, 1.0), (0.0, 1.0)):
            digit = load_digit(path, pixel_range)
            assert digit.shape == (28, 28) and digit.dtype == np.float32
            assert digit.min() == pytest.approx(pixel_range[0]) and digit.max() <= pixel_range[1] + 1e-6
        correlation = np.corrcoef(digit.ravel(), original.ravel())[0, 1]
        assert correlation > 0.8, f"{path}: correlation {correlation:.2f} with the original digit"
        rows, cols = np.nonzero(digit > 0.1)
        assert max(rows.max() - rows.min(), cols.max() - cols.min()) <= 20  # fits the 20x20 box, as MNIST


def test_eval_reads_the_users_digit_photos(trained, source, tmp_path, small_datafile):
    run, _ = trained
    paths, _, labels = digit_photos(source, tmp_path, 10)
    done = run_script(["eval.py", str(run), "--image", *paths], tmp_path, small_datafile)
    assert done.returncode == 0, done.stderr
    predicted = [int(line.split(": ")[1].split()[0]) for line in done.stdout.splitlines() if line.startswith(str(tmp_path))]
    assert len(predicted) == 10
    assert sum(p == l for p, l in zip(predicted, labels)) >= 8, (predicted, labels.tolist())


def test_a_blank_image_is_refused():
    with pytest.raises(UserError, match="no digit found"):
        to_mnist(np.full((50, 50), 200.0, np.float32))


def one_line_error(done, message):
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], done.stderr
    return lines[0]


def test_an_image_path_that_is_not_an_image(trained, tmp_path, small_datafile):
    run, _ = trained
    (tmp_path / "notes.png").write_text("not a picture")
    done = run_script(["eval.py", str(run), "--image", str(tmp_path / "notes.png")], tmp_path, small_datafile)
    one_line_error(done, "is not an image Pillow can read")


def test_a_checkpoint_that_does_not_fit_the_model(trained, tmp_path, small_datafile):
    run, _ = trained
    config = json.loads((run / "config.json").read_text())
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / "config.json").write_text(json.dumps({**config, "model": "mlp"}))
    shutil.copytree(run / "checkpoints", wrong / "checkpoints")
    one_line_error(run_script(["eval.py", str(wrong)], tmp_path, small_datafile), "does not fit the MLP model")


def test_unknown_model(tmp_path, small_datafile):
    done = run_script(["train.py", "--model", "resnet"], tmp_path, small_datafile)
    one_line_error(done, "unknown model 'resnet': choose one of cnn, ")


def test_missing_data_file_and_no_source(tmp_path):
    env = {"MNIST_SOURCE": "", "MNIST_MIRRORS": "http://127.0.0.1:9/"}
    done = run_script(["train.py", "--epochs", "1"], tmp_path, tmp_path / "absent.json.gz", env)
    one_line_error(done, "absent.json.gz is missing and could not be built")
    assert not os.path.exists(tmp_path / "absent.json.gz")


def test_a_missing_data_file_is_built_from_the_source(tmp_path, source):
    # the README's run command on a fresh checkout: no data file yet, MNIST_SOURCE names the folder
    datafile = tmp_path / "work" / "mnist.json.gz"
    done = run_script(["train.py", "--model", "linear", "--loss", "mse", "--optimizer", "sgd", "--lr", "0.001",
                       "--epochs", "1", "--out", str(tmp_path / "run")], tmp_path, datafile, {"MNIST_SOURCE": source})
    assert done.returncode == 0, done.stderr
    assert "is missing: building it from" in done.stdout and datafile.exists()


def test_a_diverging_run_stops_with_advice(tmp_path, small_datafile):
    done = run_script(["train.py", "--model", "mlp", "--loss", "mse", "--optimizer", "sgd", "--lr", "1e6",
                       "--out", str(tmp_path / "run")], tmp_path, small_datafile)
    one_line_error(done, "is too high for this setting, lower it (e.g. --lr 100000)")


def test_compare_overlays_runs(trained, tmp_path, small_datafile):
    run, _ = trained
    done = run_script(["train.py", "--compare", str(run), str(run), "--compare-out", str(tmp_path / "c.png"), "--log-scale"],
                      tmp_path, small_datafile)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    one_line_error(run_script(["train.py", "--compare", str(tmp_path)], tmp_path, small_datafile), "is not a run folder")


@pytest.mark.parametrize("preset, expected", [
    ("best", {"model": "wide_cnn", "lr_schedule": "onecycle", "shift": 2, "rotate": 10, "scale": 0, "stroke": 0}),
    ("robust", {"model": "wide_cnn", "lr_schedule": "onecycle", "shift": 2, "rotate": 10, "scale": 0.2, "stroke": 0.7}),
])
def test_a_preset_sets_its_flags_and_a_flag_still_wins(tmp_path, small_datafile, preset, expected):
    done = run_script(["train.py", "--preset", preset, "--epochs", "1", "--out", str(tmp_path / preset)], tmp_path,
                      small_datafile)
    assert done.returncode == 0, done.stderr
    with open(tmp_path / preset / "config.json") as f:
        config = json.load(f)
    assert {name: config[name] for name in expected} == expected and config["epochs"] == 1
    assert "eval: loss" in done.stdout


def test_eval_reads_many_photos_summarises_them_and_draws_a_dozen(trained, source, tmp_path, small_datafile):
    """Hundreds of photos: every answer printed, a summary (how many of each digit, the accuracy where the file
    names give the digit), a figure of the first twelve only, and a bad file named without stopping the rest."""
    run, _ = trained
    paths, _, labels = digit_photos(source, tmp_path, 15)
    named = []
    for i, (path, label) in enumerate(zip(paths, labels)):  # "7_12.jpg": the digit, then anything
        named.append(str(tmp_path / f"{label}_{i}.jpg"))
        os.rename(path, named[-1])
    many = named * 20  # 300 photos
    (tmp_path / "9_broken.png").write_text("not a picture")
    done = run_script(["eval.py", str(run), "--image", *many, str(tmp_path / "9_broken.png")], tmp_path,
                      small_datafile)
    answers = [line for line in done.stdout.splitlines() if line.startswith(str(tmp_path))]
    assert len(answers) == 301 and sum(": error: " in line for line in answers) == 1
    predicted = [int(line.split(": ")[1].split()[0]) for line in answers if ": error: " not in line]
    counts = np.bincount(predicted, minlength=10)
    assert "read 300 photos: " + ", ".join(f"{d}: {c}" for d, c in enumerate(counts) if c) + \
        "; 1 could not be read" in done.stdout
    right = sum(p == label for p, label in zip(predicted, list(labels) * 20))
    assert f"accuracy over the 300 photos whose names give their digit: {right} right, {100 * right / 300:.2f}%" \
        in done.stdout
    assert "the figure shows the first 12 of the 301 photos" in done.stdout
    assert Image.open(run / "images.png").height < 12 * 1.85 * 110 + 200  # twelve rows, not three hundred
    one_line_error(done, "1 of the 301 photos could not be read")


@pytest.mark.parametrize("path, label", [("photos/7/a.png", 7), ("7.png", 7), ("3_anna.jpg", 3), ("0-b.png", 0),
                                         ("2024.png", None), ("digit7.png", None), ("photos/x/5 b.png", 5)])
def test_a_photos_name_may_give_its_digit(path, label):
    assert photo_label(path) == label


def test_figures_in_chinese_with_lang_zh(trained, tmp_path, small_datafile):
    """eval.py --lang zh draws its confusion matrix in Chinese (where a Chinese font exists), printed lines stay
    English; every word of the figure has its Chinese (DIGITS_UNTRANSLATED collects any that has not)."""
    from digits import i18n
    if i18n.cjk_font() is None:
        pytest.skip("no Chinese font installed (sudo apt-get install fonts-noto-cjk)")
    run, _ = trained
    untranslated = tmp_path / "untranslated.txt"
    english = run_script(["eval.py", str(run)], tmp_path, small_datafile)
    drawn_english = Image.open(run / "confusion-eval.png").copy()
    chinese = run_script(["eval.py", str(run), "--lang", "zh"], tmp_path, small_datafile,
                         env={"DIGITS_UNTRANSLATED": str(untranslated)})
    assert english.returncode == chinese.returncode == 0, chinese.stderr
    assert "eval: 500 images" in chinese.stdout and chinese.stderr == ""  # English lines, no font warning
    assert not untranslated.exists(), untranslated.read_text(encoding="utf-8")
    assert np.any(np.asarray(Image.open(run / "confusion-eval.png").convert("L").resize((200, 200)))
                  != np.asarray(drawn_english.convert("L").resize((200, 200))))
