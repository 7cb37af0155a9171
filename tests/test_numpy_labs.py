"""The NumPy-track labs run end to end in quick mode and show what they claim."""
import re

from conftest import run_lab, run_script


def test_lab11_gradient_check_and_training(tmp_path, small_datafile):
    out = run_lab("11_numpy_two_layer_net.py", tmp_path, small_datafile)
    errors = [float(e) for e in re.findall(r"^  \d\.[Wb]\s+([\d.e+-]+)$", out, re.M)]
    assert len(errors) == 4 and max(errors) <= 1e-6
    assert float(re.search(r"test accuracy ([\d.]+)%", out).group(1)) > 20  # one epoch of 20 steps; chance is 10
    assert len(list(tmp_path.glob("runs/lab11/*/*.png"))) == 2


def test_lab12_reads_idx_and_tabulates_the_study(tmp_path, small_datafile, source):
    out = run_lab("12_numpy_three_layer_mlp.py", tmp_path, small_datafile, "--source", source)
    rows = re.findall(r"^\s+(\S+)\s+(\d+)\s+([\d.]+)\s+(\d+)\s+([\d.]+)%\s+([\d.]+)$", out, re.M)
    assert len(rows) == 7
    accuracy = {(hidden, int(batch), float(decay)): float(acc) for hidden, batch, decay, _, acc, _ in rows}
    for hidden in ("32/16", "128/128", "64/32"):  # more, smaller steps per epoch: the report's finding
        assert accuracy[hidden, 16, 0.9] > accuracy[hidden, 100, 0.9]
    assert "best so far: parameters saved" in out
    assert len(list(tmp_path.glob("runs/lab12/*/*.npz"))) == 7  # the best parameters of each run


def test_lab12_without_the_idx_folder(tmp_path, small_datafile):
    done = run_script(["labs/12_numpy_three_layer_mlp.py", "--quick", "--source", str(tmp_path / "none")], tmp_path,
                      small_datafile)
    assert done.returncode == 2 and "does not exist: this lab reads the IDX files themselves" in done.stderr


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
    assert list(tmp_path.glob("runs/lab13/*/valid_accuracy_vs_width.png"))


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


def test_lab14b_generalisation(tmp_path, small_datafile):
    out = run_lab("14b_generalisation.py", tmp_path, small_datafile)
    assert len(re.findall(r"dropout 0\.[05]: train [\d.]+%, test [\d.]+%, gap -?[\d.]+ points", out)) == 2
    assert re.search(r"stopped after \d+ of \d+ epochs; best validation loss [\d.]+ at epoch \d+", out)
    assert len(re.findall(r"width\s+\d+: accuracy [\d.]+% \+- [\d.]+ over the folds", out)) == 3
    tests = [float(a) for a in re.findall(r"(?:plain|shifted \+ rotated)\s+: test accuracy ([\d.]+)%", out)]
    assert len(tests) == 2 and min(tests) > 15
    assert list(tmp_path.glob("runs/lab14b/*/early_stopping.png"))
