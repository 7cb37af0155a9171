"""Labs 04-06 run end to end in quick mode (one epoch on the small course file) and show their result.

The numbers a lab keeps with `record(out, ...)` are read from its run folder's results.json; the printed
output is checked for the lesson's key lines."""
import json
import math
import re

import pytest

from conftest import notebook_images, recorded, run_lab, run_script

pytestmark = pytest.mark.full  # the full tier: python -m pytest --full


def test_lab04_loss_functions(tmp_path, small_datafile):
    out = run_lab("04_loss_functions.py", tmp_path, small_datafile)
    results = recorded(tmp_path, "lab04", single=True)
    # the course's worked numbers, computed here too: softmax([3, 1, -3]) ~ [0.88, 0.12, 0], -log 0.6 = 0.51,
    # -log 0.1 = 2.30, and the cross-entropy of those scores is -log of the first probability
    exps = [math.exp(score) for score in (3, 1, -3)]
    softmax = [e / sum(exps) for e in exps]
    assert round(results["softmax_top"], 2) == 0.88 and abs(results["softmax_top"] - softmax[0]) < 1e-6
    assert f"softmax([3, 1, -3]) = [{', '.join(f'{p:.4f}' for p in softmax)}]   (course: ~ [0.88, 0.12, 0])" in out
    for p, course in ((0.6, "0.51"), (0.1, "2.30")):
        assert f"-log {p} = {-math.log(p):.4f}   (course: {course})" in out
    assert f"true digit is the first: {-math.log(softmax[0]):.4f} = -log {softmax[0]:.4f}" in out
    # the classification change: Linear(980, 10), and fit() trains the very model and batch shown untrained
    assert "Linear(in_features=980, out_features=10" in out
    metrics = list(tmp_path.glob("runs/lab04/*/cnn-ce/metrics.jsonl"))
    assert len(metrics) == 1, metrics
    first = next(r for r in map(json.loads, metrics[0].read_text().splitlines()) if r["kind"] == "batch")
    assert (first["epoch"], first["batch"]) == (0, 0)
    assert f"untrained, on one batch: cross-entropy {first['loss']:.4f} " in out
    # what the change buys: the classifier far above the regression of the same CNN
    classification, regression = results["classification_accuracy"], results["regression_accuracy"]
    assert classification > 0.30 and classification > regression + 0.10
    assert f"{'classification (softmax + CE)':38s} eval accuracy {100 * classification:.2f}%" in out
    # the lab's evaluation() with paddle.metric.accuracy agrees with the library's evaluate()
    assert results["evaluation_equals_evaluate"] is True
    assert (f"paddle.metric.accuracy, eval: {100 * classification:.2f}% "
            f"(digits.training.evaluate: {100 * classification:.2f}%)") in out
    assert re.search(r"photo.png: \d \([\d.]+%\)", out)
    # figures in the notebook: log x; each fit() its live curve (updated in place) and curves.png (its loss.png is
    # the live curve's data: written, not shown again); the photo
    images = notebook_images(tmp_path, "04_loss_functions.py")
    assert sorted(n for n in images.values() if n) == [1, 1, 2, 2], images


def test_lab05_optimizers(tmp_path, small_datafile):
    out = run_lab("05_optimizers.py", tmp_path, small_datafile)
    results = recorded(tmp_path, "lab05", single=True)
    # the homework judges by the loss trend: the final train loss, which the lab prints (and does not record)
    learning_rates = out.split("four optimizers")[0]
    row = r"^SGD\s+([\d.e-]+)\s+1\s+([\d.]+)\s"  # optimizer, lr, epochs (1 in quick mode), train loss, ...
    loss = {float(lr): float(value) for lr, value in re.findall(row, learning_rates, re.M)}
    assert sorted(loss) == [0.0001, 0.001, 0.01]
    assert loss[0.01] < loss[0.001] < loss[0.0001]  # at one epoch, the larger the rate the further SGD gets
    assert results["sgd_lr1e2"] > results["sgd_lr1e4"] + 0.20
    assert results["momentum"] > 0.50 and results["momentum"] > results["sgd"]
    assert len(list(tmp_path.glob("runs/lab05/*/*.png"))) == 2
    # each comparison draws its loss curves live: one figure per comparison, updated in place
    assert sorted(n for n in notebook_images(tmp_path, "05_optimizers.py").values() if n) == [1, 1]


def test_lab06_devices_and_two_processes(tmp_path, small_datafile):
    out = run_lab("06_devices_distributed.py", tmp_path, small_datafile)
    results = recorded(tmp_path, "lab06", single=True)
    assert "training on cpu" in out and "not compiled with CUDA" in out
    # steps per epoch, from the printed table (not recorded): each rank of two reads half the data
    steps = dict(re.findall(r"^(1 process|2, spawn|2, launch)\s+[\d.]+\s+[\d.]+\s+(\d+)\s", out, re.M))
    assert steps == {"1 process": "20", "2, spawn": "10", "2, launch": "10"}
    # DataParallel keeps the ranks identical, and spawn and launch compute the same: the same weights, the same score
    assert results["ranks_same_weights"] is True and results["spawn_equals_launch"] is True
    assert results["spawn_accuracy"] == results["launch_accuracy"]
    assert all(results[f"{name}_accuracy"] > 0.30 for name in ("one_process", "spawn", "launch"))
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
    assert recorded(tmp_path, "lab06", single=True)["spawn_equals_launch"] is True
    assert len(list(tmp_path.glob("runs/lab06/*"))) == 1
