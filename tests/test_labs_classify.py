"""Labs 04-06 run end to end in quick mode (one epoch on the small course file) and show their result."""
import re

from conftest import run_lab, run_script


def test_lab04_loss_functions(tmp_path, small_datafile):
    out = run_lab("04_loss_functions.py", tmp_path, small_datafile)
    probabilities = [float(p) for p in re.search(r"softmax \[([\d., ]+)\]", out).group(1).split(", ")]
    assert abs(sum(probabilities) - 1) < 1e-3 and probabilities == sorted(probabilities, reverse=True)
    ce, p = re.search(r"true class is 0: ([\d.]+) = -log ([\d.]+)", out).groups()
    assert abs(float(ce) + __import__("math").log(float(p))) < 1e-3
    regression = float(re.search(r"regression .* eval accuracy ([\d.]+)%", out).group(1))
    classification = float(re.search(r"classification .* eval accuracy ([\d.]+)%", out).group(1))
    assert classification > 30 and classification > regression
    assert re.search(r"photo.png: \d \(probability", out)


def test_lab05_optimizers(tmp_path, small_datafile):
    out = run_lab("05_optimizers.py", tmp_path, small_datafile)
    rows = re.findall(r"^(sgd|momentum|adagrad|adam)\s+([\d.e-]+)\s+([\d.]+)\s+([\d.]+)%", out, re.M)
    assert len(rows) == 7
    accuracy = {(name, float(lr)): float(acc) for name, lr, _, acc in rows}
    assert accuracy["momentum", 0.01] > 50 and accuracy["sgd", 0.01] > accuracy["sgd", 0.0001]
    assert len(list(tmp_path.glob("runs/lab05/*/*.png"))) == 2


def test_lab06_devices_and_two_processes(tmp_path, small_datafile):
    out = run_lab("06_devices_distributed.py", tmp_path, small_datafile)
    assert "--device auto picks cpu" in out and "this Paddle build is CPU-only" in out
    assert "ranks end with the same weights: True" in out
    assert re.search(r"2 processes\s+[\d.]+\s+[\d.]+\s+[\d.]+%", out)
