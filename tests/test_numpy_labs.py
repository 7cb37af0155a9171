"""The NumPy-track labs run end to end in quick mode and show what they claim."""
import os
import re

import nbformat
import pytest

from conftest import run_lab, run_script

pytestmark = pytest.mark.full  # the full tier: python -m pytest --full


def images_in_cell(tmp_path, name, text):
    """How many figures the code cell of the executed notebook tmp_path/<lab>.ipynb whose source holds `text`
    shows (a live curve is one figure, updated in place)."""
    notebook = nbformat.read(str(tmp_path / f"{os.path.splitext(name)[0]}.ipynb"), as_version=4)
    cells = [cell for cell in notebook.cells if cell.cell_type == "code" and text in cell.source]
    assert len(cells) == 1, text
    return sum("image/png" in output.get("data", {}) for output in cells[0].outputs)


def test_lab11_gradient_check_and_training(tmp_path, small_datafile):
    out = run_lab("11_numpy_two_layer_net.py", tmp_path, small_datafile)
    errors = [float(e) for e in re.findall(r"^  \d\.[Wb]\s+([\d.e+-]+)$", out, re.M)]
    assert len(errors) == 4 and max(errors) <= 1e-6
    assert float(re.search(r"test accuracy ([\d.]+)%", out).group(1)) > 20  # one epoch of 20 steps; chance is 10
    assert "this lab's TwoLayerNet and digits.numpy_nn.mlp([784, 50, 10]): same loss and gradients: True" in out
    assert {path.name for path in tmp_path.glob("runs/lab11/*/*.png")} == {"accuracy.png", "loss.png"}
    assert images_in_cell(tmp_path, "11_numpy_two_layer_net.py", "history = train(") == 2  # the two live curves


def lab12_table(out):
    """The study's table: (hidden, batch, decay, best epoch, valid accuracy, test accuracy) per row."""
    rows = re.findall(r"^\s+(\S+)\s+(\d+)\s+([\d.]+)\s+(\d+)\s+([\d.]+)%\s+([\d.]+)%\s+([\d.]+)$", out, re.M)
    return [(hidden, int(batch), float(decay), int(epoch), float(valid), float(test))
            for hidden, batch, decay, epoch, valid, test, _ in rows]


def check_lab12_tests_the_best_epochs(out):
    """Each run's reported best epoch is the first with the highest logged validation accuracy, and the
    parameters it loaded back and tested score exactly that accuracy; return each run's logged accuracies
    and best epoch."""
    table, runs = lab12_table(out), []
    for section in out.split("--- hidden ")[1:]:
        accuracies = [float(a) for a in re.findall(r"^epoch \d+: .* valid accuracy ([\d.]+)%", section, re.M)]
        epoch, reloaded = re.search(r"best validation accuracy at epoch (\d+); its parameters, loaded back: "
                                    r"valid ([\d.]+)%", section).groups()
        runs.append((accuracies, int(epoch)))
        assert int(epoch) == accuracies.index(max(accuracies)), section
        assert float(reloaded) == accuracies[int(epoch)], section
    assert len(runs) == len(table) == 14
    for (accuracies, epoch), (_, _, _, table_epoch, valid, _) in zip(runs, table):
        assert (table_epoch, valid) == (epoch, accuracies[epoch])
    return runs


def test_lab12_reads_idx_and_tabulates_the_study(tmp_path, small_datafile, source):
    out = run_lab("12_numpy_three_layer_mlp.py", tmp_path, small_datafile, source=source)
    accuracy = {(hidden, batch, decay): test for hidden, batch, decay, _, _, test in lab12_table(out)}
    for hidden in ("32/16", "128/128", "64/32"):  # more, smaller steps per epoch: the report's finding
        for batch in (20, 16, 10):
            assert accuracy[hidden, batch, 0.9] > accuracy[hidden, 100, 0.9], (hidden, batch)
    check_lab12_tests_the_best_epochs(out)
    assert "best so far: parameters saved" in out
    assert len(list(tmp_path.glob("runs/lab12/*/*.npz"))) == 14  # the best parameters of each run
    assert {path.name for path in tmp_path.glob("runs/lab12/*/*.png")} == {
        "valid_accuracy_32-16.png", "valid_accuracy_128-128.png", "valid_accuracy_64-32.png"}
    assert images_in_cell(tmp_path, "12_numpy_three_layer_mlp.py", "for hidden, batch_size, decay in STUDY") == 3


def test_lab12_tests_the_epoch_with_the_best_validation_accuracy(tmp_path, source):
    done = run_script(["labs/12_numpy_three_layer_mlp.py", "--source", source, "--images", "1000", "--epochs", "10"],
                      tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    runs = check_lab12_tests_the_best_epochs(done.stdout)
    # Some runs peak before their last epoch, so testing the last epoch's parameters would fail the checks.
    assert any(epoch < len(accuracies) - 1 for accuracies, epoch in runs)


def test_lab11b_numpy_and_paddle_agree(tmp_path, small_datafile):
    out = run_lab("11b_numpy_vs_paddle.py", tmp_path, small_datafile)
    compared = re.findall(r"^  (.+?)\s+\[[\d, ]*\]\s+\[[\d, ]*\]\s+([+-][\d.]+) ([+-][\d.]+)\s+max \|difference\| "
                          r"([\d.e+-]+)$", out, re.M)
    names = [name.strip() for name, *_ in compared]
    assert names == ["scores", "loss", "dL/d fc1.weight", "dL/d fc1.bias", "dL/d fc2.weight", "dL/d fc2.bias",
                     "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    for name, ours, theirs, difference in compared:
        assert abs(float(ours)) > 1e-3, name  # a real value, so an equal pair of zeros proves nothing
        assert float(difference) <= 1e-5 and abs(float(ours) - float(theirs)) <= 1e-5, name
    steps = re.findall(r"^\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+max \|difference\| ([\d.e+-]+)$", out, re.M)
    assert [int(step) for step, *_ in steps] == [1, 2, 3, 4, 5]
    for _, ours, theirs, difference in steps:
        assert float(difference) <= 1e-5 and abs(float(ours) - float(theirs)) <= 1e-5
    assert float(steps[-1][1]) < float(steps[0][1])  # the steps did learn: both losses fell, and stayed equal


def test_lab12_without_the_idx_folder(tmp_path, small_datafile):
    done = run_script(["labs/12_numpy_three_layer_mlp.py", "--help"], tmp_path)
    assert done.returncode == 0 and "--source SOURCE" in done.stdout and "--images IMAGES" in done.stdout
    done = run_script(["labs/12_numpy_three_layer_mlp.py", "--quick", "--source", str(tmp_path / "none")], tmp_path,
                      small_datafile)
    assert done.returncode == 2 and "does not hold the MNIST file(s) train-images-idx3-ubyte.gz" in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "Traceback" not in done.stderr


def test_lab13_design_sweep_in_numpy_and_paddle(tmp_path, small_datafile):
    out = run_lab("13_feedforward_design.py", tmp_path, small_datafile)
    assert out.count("test evaluated after epochs [0]") == 2
    fixed, tuned = (float(a) for a in re.findall(r"best valid ([\d.]+)%", out))
    assert tuned > fixed  # the lab's fixed lr 0.01 learns slowly
    for framework in ("numpy", "paddle"):
        rows = re.findall(rf"^{framework} k=\d" + r"((?:\s+[\d.]+%){4})$", out, re.M)
        assert len(rows) == 3
        k, m, best = re.search(rf"best for {framework}: k=(\d), m=(\d+), valid accuracy ([\d.]+)%", out).groups()
        assert float(best) > 25
    assert {path.name for path in tmp_path.glob("runs/lab13/*/*.png")} == {
        "reference_valid_accuracy.png", "valid_accuracy_vs_width.png"}
    assert images_in_cell(tmp_path, "13_feedforward_design.py", "for lr in (FIXED_LR, TUNED_LR)") == 1


def test_lab14a_regression_capacity_and_sparsity(tmp_path, small_datafile):
    out = run_lab("14a_regression_and_fitting.py", tmp_path, small_datafile)
    slope, intercept = (float(v) for v in re.search(r"y = ([\d.-]+) x \+ ([\d.-]+)", out).groups())
    assert abs(slope - 2) < 0.2 and abs(intercept - 1) < 0.1
    best_degree = int(re.search(r"lowest at degree (\d+)", out).group(1))
    assert 2 <= best_degree <= 8  # neither the straight line nor the interpolating polynomial
    l1, l2 = (int(n) for n in re.findall(r"^L[12]: (\d+) of the 36 useless weights", out, re.M))
    assert l1 > l2  # L1 gives a sparse model
    figures = {path.name for path in tmp_path.glob("runs/lab14a/*/*.png")}
    assert figures == {"one_variable.png", "polynomial.png", "regression_losses.png", "under_over_fitting.png"}
    assert images_in_cell(tmp_path, "14a_regression_and_fitting.py", "live.save(") == 1  # the live loss curves


def test_lab14b_generalisation(tmp_path, small_datafile):
    out = run_lab("14b_generalisation.py", tmp_path, small_datafile)
    assert len(re.findall(r"dropout 0\.[05]: train [\d.]+%, test [\d.]+%, gap -?[\d.]+ points", out)) == 2
    best_loss, best = re.search(r"stopped after \d+ of \d+ epochs; best validation loss ([\d.]+) at epoch (\d+)",
                                out).groups()
    restored, restored_loss, tested = re.search(r"restored the parameters of epoch (\d+) \(validation loss ([\d.]+)\): "
                                                r"test accuracy at the best epoch (\d+) [\d.]+%", out).groups()
    assert restored == tested == best
    assert abs(float(restored_loss) - float(best_loss)) <= 1e-4  # the tested parameters are the best epoch's
    assert len(re.findall(r"width\s+\d+: accuracy [\d.]+% \+- [\d.]+ over the folds", out)) == 3
    tests = [float(a) for a in re.findall(r"(?:plain|shifted \+ rotated)\s+: test accuracy ([\d.]+)%", out)]
    assert len(tests) == 2 and min(tests) > 15
    assert list(tmp_path.glob("runs/lab14b/*/early_stopping.png"))
    assert images_in_cell(tmp_path, "14b_generalisation.py", "live.save(") == 1  # train and valid loss, live
