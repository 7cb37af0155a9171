"""Labs 07-10 run end to end in quick mode (one epoch on the small course file) and show their result."""
import re

from conftest import run_lab, run_script


def test_lab07_debug_and_regularisation(tmp_path, small_datafile):
    out = run_lab("07_debug_and_tune.py", tmp_path, small_datafile)
    assert "conv1    OneDNNConv2D -> [100, 20, 28, 28]" in out and "fc       Linear       -> [100, 10]" in out
    assert "[debug]   conv2 weight [20, 20, 5, 5]" in out
    gaps = re.findall(r"^(none|L2 \S+|dropout 0.5)\s+.*\s(-?[\d.]+)%$", out, re.M)
    assert [name for name, _ in gaps] == ["none", "L2 1e-5", "L2 1e-3", "L2 1e-2", "dropout 0.5"]
    assert list(tmp_path.glob("runs/lab07/*/none/curves.png"))


def test_lab08_resume_is_exact(tmp_path, small_datafile):
    out = run_lab("08_resume.py", tmp_path, small_datafile)
    assert "resuming" in out and "(bit for bit: True)" in out and "max weight difference 0" in out
    assert "learning rate at the end: 0.001000" in out


def test_lab09_export_parity_and_eval_of_the_export(tmp_path, small_datafile):
    out = run_lab("09_export_inference.py", tmp_path, small_datafile)
    differences = [float(d) for d in re.findall(r"max \|difference\| from dynamic ([\d.e+-]+)", out)]
    assert len(differences) >= 4 and differences[0] == 0 and differences[1] == 0  # jit.load, plain inference
    assert max(differences) <= 1e-4  # oneDNN: float32 rounding of logits up to ~20
    assert out.count("same predictions: True") == 4  # jit.load, inference, inference + oneDNN, training layers
    export = next(tmp_path.glob("runs/lab09/*/export"))
    done = run_script(["eval.py", str(export)], tmp_path, small_datafile)
    assert done.returncode == 0, done.stderr
    assert re.search(r"eval: 500 images, loss [\d.]+, accuracy [\d.]+%", done.stdout)


def test_lab10_high_level_api_matches_the_loop(tmp_path, small_datafile):
    out = run_lab("10_high_level_api.py", tmp_path, small_datafile)
    high_level = float(re.search(r"paddle.Model\s+([\d.]+)%", out).group(1))
    hand = float(re.search(r"hand-written loop\s+([\d.]+)%", out).group(1))
    assert high_level > 30 and hand > 30 and abs(high_level - hand) < 15
    predicted, labels = re.search(r"predict on 10 eval digits: (\[.*?\]) \(labels (\[.*?\])\)", out).groups()
    assert sum(p == l for p, l in zip(eval(predicted), eval(labels))) >= 5
