"""The NumPy-track labs run end to end in quick mode and show what they claim. Their numbers are read from the
results.json each lab records (digits.lab.record) in its run folder; the printed output is read only for the
lessons' key sentences, and for what a lab prints but does not record (lab 12's epochs, lab 11b's table)."""
import math
import os
import re

import nbformat
import pytest

from conftest import recorded, run_lab, run_script

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
    results = recorded(tmp_path, "lab11")
    assert results["gradient_error"] <= 1e-6  # the largest of the four parameters' relative errors
    assert results["test_accuracy"] > 0.2  # one epoch of 20 steps; chance is 0.1
    assert results["same_as_library"] is True
    assert "this lab's TwoLayerNet and digits.numpy_nn.mlp([784, 50, 10]): same loss and gradients: True" in out
    assert {path.name for path in tmp_path.glob("runs/lab11/*/*.png")} == {"accuracy.png", "loss.png"}
    assert images_in_cell(tmp_path, "11_numpy_two_layer_net.py", "history = train(") == 2  # the two live curves


def lab12_key(hidden, batch, decay):
    """The name lab 12 records a run's test accuracy under: test_64_32_b16, test_64_32_b16_no_decay."""
    return f"test_{hidden.replace(', ', '_')}_b{batch}{'' if float(decay) < 1 else '_no_decay'}"


def check_lab12_tests_the_best_epochs(out, results):
    """Each run's reported best epoch is the first with the highest logged validation accuracy, the parameters
    it loaded back and tested score exactly that accuracy, and their test accuracy is the one recorded; the
    recorded best_is_last says whether every run peaked at its last epoch. Returns each run's logged
    accuracies and best epoch."""
    runs = []
    for section in out.split("--- hidden ")[1:]:
        hidden, batch, decay = re.match(r"\((\d+, \d+)\), batch (\d+), decay ([\d.]+)", section).groups()
        accuracies = [float(a) for a in re.findall(r"^epoch \d+: .* valid accuracy ([\d.]+)%", section, re.M)]
        epoch, reloaded, tested = re.search(r"best validation accuracy at epoch (\d+); its parameters, loaded back: "
                                            r"valid ([\d.]+)%, test ([\d.]+)%", section).groups()
        runs.append((accuracies, int(epoch)))
        assert int(epoch) == accuracies.index(max(accuracies)), section
        assert float(reloaded) == accuracies[int(epoch)], section
        assert abs(100 * results[lab12_key(hidden, batch, decay)] - float(tested)) <= 0.006, section
    assert len(runs) == len([key for key in results if key.startswith("test_")]) == 14
    assert results["best_is_last"] == all(epoch == len(accuracies) - 1 for accuracies, epoch in runs)
    return runs


def test_lab12_reads_idx_and_tabulates_the_study(tmp_path, small_datafile, source):
    out = run_lab("12_numpy_three_layer_mlp.py", tmp_path, small_datafile, source=source)
    results = recorded(tmp_path, "lab12")
    for hidden in ("32_16", "128_128", "64_32"):  # more, smaller steps per epoch: the report's finding
        for batch in (20, 16, 10):
            assert results[f"test_{hidden}_b{batch}"] > results[f"test_{hidden}_b100"], (hidden, batch)
    check_lab12_tests_the_best_epochs(out, results)
    assert "best so far: parameters saved" in out
    assert len(list(tmp_path.glob("runs/lab12/*/*.npz"))) == 14  # the best parameters of each run
    assert {path.name for path in tmp_path.glob("runs/lab12/*/*.png")} == {
        "valid_accuracy_32-16.png", "valid_accuracy_128-128.png", "valid_accuracy_64-32.png"}
    assert images_in_cell(tmp_path, "12_numpy_three_layer_mlp.py", "for hidden, batch_size, decay in STUDY") == 3


def test_lab12_tests_the_epoch_with_the_best_validation_accuracy(tmp_path, source):
    done = run_script(["labs/12_numpy_three_layer_mlp.py", "--source", source, "--images", "1000", "--epochs", "10"],
                      tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = recorded(tmp_path, "lab12")
    check_lab12_tests_the_best_epochs(done.stdout, results)
    # Some runs peak before their last epoch, so testing the last epoch's parameters would fail the checks.
    assert results["best_is_last"] is False


def test_lab11b_numpy_and_paddle_agree(tmp_path, small_datafile):
    out = run_lab("11b_numpy_vs_paddle.py", tmp_path, small_datafile)
    results = recorded(tmp_path, "lab11b")
    for name in ("score_difference", "loss_difference", "gradient_difference", "step_loss_difference",
                 "weight_difference"):
        assert 0 <= results[name] <= 1e-5, name  # equal up to float32 rounding
    assert results["last_loss"] < results["first_loss"]  # the steps did learn: both losses fell, and stayed equal
    # The table of compared arrays: every one printed, and each a real value (the largest entry is recorded for
    # none of them), so an equal pair of zeros proves nothing.
    compared = re.findall(r"^  (.+?)\s+\[[\d, ]*\]\s+\[[\d, ]*\]\s+([+-][\d.]+) [+-][\d.]+\s+max \|difference\| ", out,
                          re.M)
    assert [name.strip() for name, _ in compared] == [
        "scores", "loss", "dL/d fc1.weight", "dL/d fc1.bias", "dL/d fc2.weight", "dL/d fc2.bias", "fc1.weight",
        "fc1.bias", "fc2.weight", "fc2.bias"]
    for name, ours in compared:
        assert abs(float(ours)) > 1e-3, name
    assert len(re.findall(r"^\s+\d+\s+[\d.]+\s+[\d.]+\s+max \|difference\| ", out, re.M)) == 5  # a line per SGD step


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
    results = recorded(tmp_path, "lab13")
    assert out.count("test evaluated after epochs [0]") == 2
    assert results["test_lr_tuned"] > results["test_lr_fixed"]  # the lab's fixed lr 0.01 learns slowly
    for framework in ("numpy", "paddle"):
        assert len(re.findall(rf"^{framework} k=\d" + r"(?:\s+[\d.]+%){4}$", out, re.M)) == 3  # the sweep's table
        assert results[f"{framework}_best_k"] in (1, 2, 3) and results[f"{framework}_best_m"] in (16, 32, 64, 128)
        assert results[f"{framework}_best_valid"] > 0.25
    assert {path.name for path in tmp_path.glob("runs/lab13/*/*.png")} == {
        "reference_valid_accuracy.png", "valid_accuracy_vs_width.png"}
    assert images_in_cell(tmp_path, "13_feedforward_design.py", "for lr in (FIXED_LR, TUNED_LR)") == 1
    # The companion code's five networks (all recorded: conftest checks the keys): ReLU learns in one quick epoch (63 steps
    # of batch 32), sigmoid at lr 1 may still be at chance. Their double softmax bounds every loss: the outputs of
    # the first lie in (0, 1), so -ln(e/(e+9)) = 1.4612 <= loss <= ln(e+9) = 2.4612.
    for key in ("companion_relu", "companion_multi_relu", "companion_multi_relu_l2"):
        assert results[key] > 0.2, key  # chance is 0.1
    floor, ceiling = -math.log(math.e / (math.e + 9)), math.log(math.e + 9)
    assert floor - 1e-4 <= results["companion_last_loss"] <= ceiling + 1e-4
    assert len(re.findall(r"^784-[\d-]+-10\s+(?:sigmoid|relu)\s", out, re.M)) == 5  # the companion table's rows
    assert f"the double softmax's floor: -ln(e/(e+9)) = {floor:.4f}" in out


def test_lab14a_regression_capacity_and_sparsity(tmp_path, small_datafile):
    run_lab("14a_regression_and_fitting.py", tmp_path, small_datafile)
    results = recorded(tmp_path, "lab14a")
    assert results["coefficient_error"] < 0.2  # every fitted coefficient near the truth, after 50 steps
    assert 2 <= results["best_degree"] <= 8  # neither the straight line nor the interpolating polynomial
    assert results["degree12_train_mse"] < 0.1 < results["degree12_test_mse"]  # over-fitted: the noise learned
    assert results["l1_zeroed"] > results["l2_zeroed"]  # L1 gives a sparse model
    figures = {path.name for path in tmp_path.glob("runs/lab14a/*/*.png")}
    assert figures == {"one_variable.png", "polynomial.png", "regression_losses.png", "under_over_fitting.png"}
    assert images_in_cell(tmp_path, "14a_regression_and_fitting.py", "live.save(") == 1  # the live loss curves


def test_lab14b_generalisation(tmp_path, small_datafile):
    out = run_lab("14b_generalisation.py", tmp_path, small_datafile)
    results = recorded(tmp_path, "lab14b")
    for name in ("test_no_dropout", "test_dropout", "cv_test", "test_plain", "test_augmented"):
        assert results[name] > 0.15, name  # chance is 0.1
    assert 1 <= results["best_epoch"] <= results["stopped_after"] <= 3  # quick: up to 3 x 1 epochs
    best = results["best_epoch"]
    # the validation loss of the restored parameters is the best epoch's (the losses are printed, not recorded)
    best_loss = re.search(rf"best validation loss ([\d.]+) at epoch {best};", out).group(1)
    restored_loss = re.search(rf"restored the parameters of epoch {best} \(validation loss ([\d.]+)\): "
                              rf"test accuracy at the best epoch {best} ", out).group(1)
    assert abs(float(restored_loss) - float(best_loss)) <= 1e-4  # the tested parameters are the best epoch's
    assert results["cv_width"] in (32, 128, 512)
    assert list(tmp_path.glob("runs/lab14b/*/early_stopping.png"))
    assert images_in_cell(tmp_path, "14b_generalisation.py", "live.save(") == 1  # train and valid loss, live
