"""Labs 04-06 run end to end in quick mode (one epoch on the small course file) and show their result."""
import math
import re

import pytest

from conftest import notebook_images, run_lab, run_script

pytestmark = pytest.mark.full  # the full tier: python -m pytest --full


def test_lab04_loss_functions(tmp_path, small_datafile):
    out = run_lab("04_loss_functions.py", tmp_path, small_datafile)
    # the course's worked numbers, computed: softmax([3, 1, -3]) ~ [0.88, 0.12, 0], -log 0.6 = 0.51, -log 0.1 = 2.30
    probabilities = [float(p) for p in re.search(r"softmax\(\[3, 1, -3\]\) = \[([\d., ]+)\]", out).group(1).split(", ")]
    assert [round(p, 2) for p in probabilities] == [0.88, 0.12, 0.0] and abs(sum(probabilities) - 1) < 1e-3
    for p, course in (("0.6", 0.51), ("0.1", 2.30)):
        assert abs(float(re.search(rf"^-log {p} = ([\d.]+)", out, re.M).group(1)) - course) < 0.005
    ce, p = re.search(r"true digit is the first: ([\d.]+) = -log ([\d.]+)", out).groups()
    assert abs(float(ce) + math.log(float(p))) < 1e-3
    # the classification change: Linear(980, 10), and fit() trains the very model and batch shown untrained
    assert "Linear(in_features=980, out_features=10" in out
    untrained = re.search(r"untrained, on one batch: cross-entropy ([\d.]+)", out).group(1)
    first_logged = re.findall(r"epoch: 0, batch: 0, loss is: ([\d.]+)", out)[-1]  # the classifier's run is second
    assert untrained == first_logged
    regression = float(re.search(r"regression .* eval accuracy ([\d.]+)%", out).group(1))
    classification = float(re.search(r"classification .* eval accuracy ([\d.]+)%", out).group(1))
    assert classification > 30 and classification > regression + 10
    # the lab's evaluation() with paddle.metric.accuracy agrees with the library's evaluate()
    for mode in ("valid", "eval"):
        ours, library = re.search(rf"paddle.metric.accuracy, {mode}: ([\d.]+)% \(digits.training.evaluate: ([\d.]+)%",
                                  out).groups()
        assert ours == library
    assert float(ours) == classification
    assert re.search(r"photo.png: \d \([\d.]+%\)", out)
    # figures in the notebook: log x; each fit() its live curve (updated in place) and curves.png (its loss.png is
    # the live curve's data: written, not shown again); the photo
    images = notebook_images(tmp_path, "04_loss_functions.py")
    assert sorted(n for n in images.values() if n) == [1, 1, 2, 2], images


def test_lab05_optimizers(tmp_path, small_datafile):
    out = run_lab("05_optimizers.py", tmp_path, small_datafile)
    learning_rates, optimizers = out.split("four optimizers")
    row = r"^(SGD|Momentum|Adagrad|Adam)\s+([\d.e-]+)\s+1\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)%"
    sgd = {float(lr): (float(loss), float(acc)) for _, lr, _, loss, acc in re.findall(row, learning_rates, re.M)}
    assert sorted(sgd) == [0.0001, 0.001, 0.01]
    assert sgd[0.01][0] < sgd[0.001][0] < sgd[0.0001][0]  # at one epoch, the larger the rate the further SGD gets
    assert sgd[0.01][1] > sgd[0.0001][1] + 20
    accuracy = {(name, float(lr)): float(acc) for name, lr, _, _, acc in re.findall(row, optimizers, re.M)}
    assert sorted(accuracy) == [("Adagrad", 0.01), ("Adam", 0.001), ("Adam", 0.01), ("Momentum", 0.01), ("SGD", 0.01)]
    assert accuracy["Momentum", 0.01] > 50 and accuracy["Momentum", 0.01] > accuracy["SGD", 0.01]
    assert len(list(tmp_path.glob("runs/lab05/*/*.png"))) == 2
    # each comparison draws its loss curves live: one figure per comparison, updated in place
    assert sorted(n for n in notebook_images(tmp_path, "05_optimizers.py").values() if n) == [1, 1]


def test_lab06_devices_and_two_processes(tmp_path, small_datafile):
    out = run_lab("06_devices_distributed.py", tmp_path, small_datafile)
    assert "training on cpu" in out and "not compiled with CUDA" in out
    rows = {name: (int(steps), float(acc), same) for name, steps, acc, same in
            re.findall(r"^(1 process|2, spawn|2, launch)\s+[\d.]+\s+[\d.]+\s+(\d+)\s+([\d.]+)%\s+(\S+)$", out, re.M)}
    assert rows["1 process"][0] == 20 and rows["2, spawn"][0] == rows["2, launch"][0] == 10  # each rank: half the data
    assert rows["2, spawn"][2] == rows["2, launch"][2] == "True"  # DataParallel keeps the ranks identical
    assert all(acc > 30 for _, acc, _ in rows.values())
    assert "spawn and launch end with the same weights: True" in out
    assert len(list(tmp_path.glob("runs/lab06/*/log/workerlog.[01]"))) == 2
    assert len(list(tmp_path.glob("runs/lab06/*"))) == 1  # the lab's own workers leave no run folders behind


def test_lab06_as_a_script_guards_what_spawn_reimports(tmp_path, small_datafile):
    """As a script, spawn's children import the lab file again: its guarded cells must not run there (they
    would train again and spawn again), and from a notebook the spawn goes through this same script."""
    done = run_script(["labs/06_devices_distributed.py", "--quick"], tmp_path, small_datafile)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("training on cpu") == 1 and done.stdout.count("1 process, epoch 0") == 1
    assert "spawn and launch end with the same weights: True" in done.stdout
    assert len(list(tmp_path.glob("runs/lab06/*"))) == 1
