"""Every lab runs end to end in quick mode (one epoch on the small course file) and shows its result."""
import re

from conftest import run_lab, run_script


def test_lab01_data(tmp_path, small_datafile):
    out = run_lab("01_data.py", tmp_path, small_datafile)
    assert "train: 2000 images, 2000 labels" in out and "valid: 500 images" in out
    assert "first train batch: images (100, 784) float32, labels (100, 1) float32" in out
    assert "the file uses [-1, 1], background -1" in out
    assert "DataLoader: 20 batches per epoch" in out
    assert list(tmp_path.glob("runs/lab01/*/samples.png"))


def test_lab02_mlp_regression(tmp_path, small_datafile):
    out = run_lab("02_mlp_regression.py", tmp_path, small_datafile)
    first = float(re.search(r"epoch: 0, batch: 0, loss is: ([\d.]+)", out).group(1))
    final = float(re.search(r"final train loss ([\d.]+)", out).group(1))
    assert final < first / 2
    assert list(tmp_path.glob("runs/lab02/*/mlp/loss.png"))


def test_lab03_cnn_regression_course_vs_clipped(tmp_path, small_datafile):
    out = run_lab("03_cnn_regression.py", tmp_path, small_datafile)
    rows = dict(re.findall(r"^(linear \(lr 0.001\)|mlp|cnn, seed 0, course|cnn, seed 0, clipped)\s+(\S+)", out, re.M))
    assert len(rows) == 4, out[-2000:]
    dead = dict(re.findall(r"^(cnn, seed 0, \w+)\s+\S+\s+\S+\s+\S+%\s+(\d+)%", out, re.M))
    # the lab's finding on this seed: the course setting kills every conv2 channel, clipping keeps them
    assert dead == {"cnn, seed 0, course": "100", "cnn, seed 0, clipped": "0"}, out[-2000:]
    assert "stalled: constant output" in out
    assert len(list(tmp_path.glob("runs/lab03/*/*.png"))) == 2
