"""Every lab runs end to end in quick mode (one epoch on the small course file) and shows its result."""
import json
import math
import re

import pytest

from conftest import notebook_images, recorded, run_lab, run_script

pytestmark = pytest.mark.full  # the full tier: python -m pytest --full


def test_lab00_minimal_linear_and_label_shapes(tmp_path, small_datafile, source):
    out = run_lab("00_minimal_linear.py", tmp_path, small_datafile, source=source)
    assert "square_error_cost of predictions [16, 1] and labels [16] has shape [16, 16]; with labels [16, 1]: [16, 1]" in out
    results = recorded(tmp_path, "lab00", single=True)
    # the broadcast loss cannot fall below the labels' variance; with [B, 1] labels the same model learns
    assert results["column_loss"] < results["flat_loss"] and results["flat_loss"] > 0.8 * results["label_variance"]
    assert "minimal model: last epoch's mean loss" in out and "test accuracy (rounded prediction)" in out
    assert math.isfinite(results["last_loss"])
    # the course's last step: a photo of a 0 (the first of the test set) read by the minimal model
    prediction = results["photo_prediction"]
    assert math.isfinite(prediction)
    assert f"photo of a 0: the model outputs {prediction:.3f}, rounded to {min(max(round(prediction), 0), 9)} " in out
    for figure in ("label_shapes.png", "loss.png", "photo.png", "photos.png"):
        assert list(tmp_path.glob(f"runs/lab00/*/{figure}")), figure
    # two live curves (the minimal model; both label shapes), each one figure updated in place as training runs,
    # and the photo's reading
    assert sorted(n for n in notebook_images(tmp_path, "00_minimal_linear.py").values() if n) == [1, 1, 1]


def test_lab01_data(tmp_path, small_datafile):
    out = run_lab("01_data.py", tmp_path, small_datafile)
    assert "train: 2000 images in 20 batches" in out and "valid: 500 images in 5 batches" in out
    assert "first train batch: images (100, 784) float32, labels (100,) float32" in out
    assert "the file uses [-1, 1], background -1" in out
    assert "same seed, first 3 batches of the course's and the library's loader equal: True" in out
    assert "one shuffled epoch of 20 batches: the course's loader" in out
    assert "DataLoader: 20 batches per epoch" in out
    results = recorded(tmp_path, "lab01", single=True)
    assert (results["train_images"], results["valid_images"], results["eval_images"]) == (2000, 500, 500)
    assert results["same_batches"] is True
    assert results["course_epoch_seconds"] > 0 and results["library_epoch_seconds"] > 0
    assert list(tmp_path.glob("runs/lab01/*/samples.png"))
    assert sorted(n for n in notebook_images(tmp_path, "01_data.py").values() if n) == [1]  # the human check, inline


def test_lab02_mlp_regression(tmp_path, small_datafile):
    out = run_lab("02_mlp_regression.py", tmp_path, small_datafile)
    assert "all in (0, 1): True" in out  # the course's sigmoid curve, before the network
    # the first batch's loss is the course's own log line (the lab records only the end's numbers)
    first = float(re.search(r"epoch: 0, batch: 0, loss is: ([\d.]+)", out).group(1))
    results = recorded(tmp_path, "lab02", single=True)
    assert results["train_loss"] < first / 2
    assert results["eval_mse"] < first  # the MLP learned something the test images confirm
    assert "final train loss" in out and "rounded-prediction accuracy" in out
    assert list(tmp_path.glob("runs/lab02/*/loss.png")) and list(tmp_path.glob("runs/lab02/*/sigmoid.png"))
    # the sigmoid, and the live loss curve: one figure each in the notebook, the curve updated in place as
    # training runs (not one per redraw)
    assert sorted(n for n in notebook_images(tmp_path, "02_mlp_regression.py").values() if n) == [1, 1]


def test_lab02_as_a_script_takes_its_parameters_as_flags(tmp_path, small_datafile):
    done = run_script(["labs/02_mlp_regression.py", "--help"], tmp_path)
    assert done.returncode == 0 and "--epochs" in done.stdout and "--quick" in done.stdout
    assert "one epoch only: a smoke test" in done.stdout and "Lab 02" in done.stdout  # the cell's comments, title
    done = run_script(["labs/02_mlp_regression.py", "--epochs", "0"], tmp_path, small_datafile)
    assert done.returncode != 0 and "argument --epochs: 0: must be at least 1" in done.stderr and "Traceback" not in done.stderr
    done = run_script(["labs/02_mlp_regression.py", "--quick", "--seed", "3"], tmp_path, small_datafile)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "final train loss" in done.stdout and len(list(tmp_path.glob("runs/lab02/*/loss.png"))) == 1
    assert len(list(tmp_path.glob("runs/lab02/*/sigmoid.png"))) == 1


def test_lab03_cnn_regression_course_vs_warmup_and_classifiers(tmp_path, small_datafile):
    out = run_lab("03_cnn_regression.py", tmp_path, small_datafile)
    results = recorded(tmp_path, "lab03", single=True)
    # the lab's finding on this seed and data ([-1, 1] pixels): the course setting kills every conv2 channel and
    # predicts a constant; the warm-up keeps most channels and regresses better
    assert results["cnn_course_dead"] == 1 and "stalled: constant output" in out, out[-2000:]
    assert results["cnn_warmup_mse"] < results["cnn_course_mse"]
    # the "pixels 0..1" run trained on the [0, 1] copy of the same file, the others on the file itself
    ranges = {variant: json.loads(next(tmp_path.glob(f"runs/lab03/*/cnn-seed0-{variant}/config.json")).read_text())
              ["pixel_range"] for variant in ("course", "pixels0to1", "warm-up")}
    assert ranges == {"course": [-1.0, 1.0], "pixels0to1": [0.0, 1.0], "warm-up": [-1.0, 1.0]}
    assert 0 <= results["cnn_pixels01_dead"] <= 1 and math.isfinite(results["cnn_pixels01_mse"])
    # as classifiers the CNN is ahead under either optimizer, and Adam brings the MLP above its SGD run
    assert results["cnn_classifier_accuracy"] > results["mlp_classifier_accuracy"] + 0.10
    assert results["cnn_adam_accuracy"] > results["mlp_adam_accuracy"]
    assert results["mlp_adam_accuracy"] > results["mlp_classifier_accuracy"] + 0.04  # one epoch on 2000 images
    assert len(list(tmp_path.glob("runs/lab03/*/*.png"))) == 4
    # the cells with figures, in order: linear and MLP, the CNN runs, the regressions compared, the classifiers, the
    # classifiers compared; fit() draws each run's live curve (and may show its own figures), the comparisons two each
    shown = [n for n in notebook_images(tmp_path, "03_cnn_regression.py").values() if n]
    assert len(shown) == 5 and shown[2] == shown[4] == 2 and min(shown[0], shown[1], shown[3]) >= 2, shown
