"""Every lab runs end to end in quick mode (one epoch on the small course file) and shows its result."""
import re

import pytest

from conftest import notebook_images, run_lab, run_script

pytestmark = pytest.mark.full  # the full tier: python -m pytest --full


def test_lab00_minimal_linear_and_label_shapes(tmp_path, small_datafile, source):
    out = run_lab("00_minimal_linear.py", tmp_path, small_datafile, source=source)
    assert "square_error_cost of predictions [16, 1] and labels [16] has shape [16, 16]; with labels [16, 1]: [16, 1]" in out
    broadcast = float(re.search(r"labels \[B\] \(broadcast to \[B, B\]\): last epoch's mean loss ([\d.]+)", out).group(1))
    fixed = float(re.search(r"labels \[B, 1\]: last epoch's mean loss ([\d.]+)", out).group(1))
    variance = float(re.search(r"the labels' variance, where the broadcast loss settles: ([\d.]+)", out).group(1))
    assert fixed < broadcast and broadcast > 0.8 * variance   # the broadcast loss cannot fall below the variance
    assert re.search(r"minimal model: .* test accuracy \(rounded prediction\) [\d.]+%", out)
    assert list(tmp_path.glob("runs/lab00/*/label_shapes.png")) and list(tmp_path.glob("runs/lab00/*/loss.png"))
    # two live curves (the minimal model; both label shapes), each one figure updated in place as training runs
    assert sorted(n for n in notebook_images(tmp_path, "00_minimal_linear.py").values() if n) == [1, 1]


def test_lab01_data(tmp_path, small_datafile):
    out = run_lab("01_data.py", tmp_path, small_datafile)
    assert "train: 2000 images in 20 batches" in out and "valid: 500 images in 5 batches" in out
    assert "first train batch: images (100, 784) float32, labels (100,) float32" in out
    assert "the file uses [-1, 1], background -1" in out
    assert "same seed, first 3 batches of the course's and the library's loader equal: True" in out
    assert re.search(r"one shuffled epoch of 20 batches: the course's loader [\d.]+s, the library's [\d.]+s", out)
    assert "DataLoader: 20 batches per epoch" in out
    assert list(tmp_path.glob("runs/lab01/*/samples.png"))
    assert sorted(n for n in notebook_images(tmp_path, "01_data.py").values() if n) == [1]  # the human check, inline


def test_lab02_mlp_regression(tmp_path, small_datafile):
    out = run_lab("02_mlp_regression.py", tmp_path, small_datafile)
    first = float(re.search(r"epoch: 0, batch: 0, loss is: ([\d.]+)", out).group(1))
    final = float(re.search(r"final train loss ([\d.]+)", out).group(1))
    assert final < first / 2
    assert list(tmp_path.glob("runs/lab02/*/loss.png"))
    # the live loss curve: one figure in the notebook, updated in place as training runs (not one per redraw)
    assert sorted(notebook_images(tmp_path, "02_mlp_regression.py").values())[-1] == 1


def test_lab02_as_a_script_takes_its_parameters_as_flags(tmp_path, small_datafile):
    done = run_script(["labs/02_mlp_regression.py", "--help"], tmp_path)
    assert done.returncode == 0 and "--epochs" in done.stdout and "--quick" in done.stdout
    assert "one epoch only: a smoke test" in done.stdout and "Lab 02" in done.stdout  # the cell's comments, title
    done = run_script(["labs/02_mlp_regression.py", "--epochs", "0"], tmp_path, small_datafile)
    assert done.returncode != 0 and "argument --epochs: 0: must be at least 1" in done.stderr and "Traceback" not in done.stderr
    done = run_script(["labs/02_mlp_regression.py", "--quick", "--seed", "3"], tmp_path, small_datafile)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "final train loss" in done.stdout and len(list(tmp_path.glob("runs/lab02/*/loss.png"))) == 1


def test_lab03_cnn_regression_course_vs_warmup_and_classifiers(tmp_path, small_datafile):
    out = run_lab("03_cnn_regression.py", tmp_path, small_datafile)
    rows = dict(re.findall(r"^(linear \(lr 0.001\)|mlp|cnn, seed 0, course|cnn, seed 0, warm-up)\s+(\S+)", out, re.M))
    assert len(rows) == 4, out[-2000:]
    dead = dict(re.findall(r"^(cnn, seed 0, [\w-]+)\s+\S+\s+\S+\s+\S+%\s+(\d+)%", out, re.M))
    # the lab's finding on this seed: the course setting kills every conv2 channel, the warm-up keeps them
    assert dead["cnn, seed 0, course"] == "100" and int(dead["cnn, seed 0, warm-up"]) < 50, out[-2000:]
    assert "stalled: constant output" in out
    accuracy = dict(re.findall(r"^classifier (MLP|CNN): eval accuracy ([\d.]+)%", out, re.M))
    assert float(accuracy["CNN"]) > float(accuracy["MLP"]) + 10
    assert len(list(tmp_path.glob("runs/lab03/*/*.png"))) == 4
    # the cells with figures, in order: linear and MLP, the CNN runs, the regressions compared, the classifiers, the
    # classifiers compared; fit() draws each run's live curve (and may show its own figures), the comparisons two each
    shown = [n for n in notebook_images(tmp_path, "03_cnn_regression.py").values() if n]
    assert len(shown) == 5 and shown[2] == shown[4] == 2 and min(shown[0], shown[1], shown[3]) >= 2, shown
