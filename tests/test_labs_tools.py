"""Labs 07-10 run end to end in quick mode (one epoch on the small course file) and show their result."""
import os
import re

import pytest

from conftest import notebook_images, run_lab, run_script

pytestmark = pytest.mark.full  # the full tier: python -m pytest --full


def test_lab07_debug_and_regularisation(tmp_path, small_datafile):
    out = run_lab("07_debug_and_tune.py", tmp_path, small_datafile)
    # check_shape, from the lab's hooks, names the course's layers (a oneDNN conv is still a Conv2D)
    assert re.search(r"conv1\s+Conv2D\s+kernel \[20, 1, 5, 5\], padding 2, stride \[1, 1\]\s+-> output \[100, 20, 28, 28\]", out)
    assert re.search(r"pool2\s+MaxPool2D\s+-> output \[100, 20, 7, 7\]", out)
    assert re.search(r"fc\s+Linear\s+weight \[980, 10\], bias \[10\]\s+-> output \[100, 10\]", out)
    assert "OneDNN" not in out
    # check_content at a later batch: a kernel's values and a random channel's output
    assert "[check_content] batch 19:" in out and "conv2 kernel weights [0][0]:" in out
    assert re.search(r"conv2 output, channel \d+ of image 0 \(14x14\)", out) and "fc output of image 0:" in out
    gaps = re.findall(r"^(none|L2 \S+|dropout 0.5)\s+.*\s(-?[\d.]+)%$", out, re.M)
    assert [name for name, _ in gaps] == ["none", "L2 1e-5", "L2 1e-3", "L2 1e-2", "dropout 0.5"]
    assert list(tmp_path.glob("runs/lab07/*/train_vs_valid_loss.png"))
    # the live train vs valid curves: one figure in the notebook, updated in place as the settings train
    assert sorted(n for n in notebook_images(tmp_path, "07_debug_and_tune.py").values() if n) == [1]


def test_lab08_resume_is_exact(tmp_path, small_datafile):
    out = run_lab("08_resume.py", tmp_path, small_datafile)
    # the lab's own loop: paddle.save per epoch, paddle.load + set_state_dict, then bit for bit
    assert "restored: scheduler step 20, learning rate 0.005500" in out
    assert re.search(r"this lab's loop: 40 batch losses; .*\(bit for bit: True\); max weight difference 0;"
                     r" learning rate at the end: 0.001000", out)
    assert list(tmp_path.glob("runs/lab08/*/checkpoint_stopped/mnist_epoch0.pdopt"))
    # the live losses of the three runs: one figure in the notebook, and its PNG
    assert list(tmp_path.glob("runs/lab08/*/losses.png"))
    assert sorted(n for n in notebook_images(tmp_path, "08_resume.py").values() if n) == [1]
    # the library: train.py --stop-after, then --resume, lands on the same weights
    assert "resuming" in out
    assert re.search(r"train.py, stopped and resumed: its \d+ logged losses equal this lab's uninterrupted loop's: "
                     r"True; max weight difference 0$", out, re.M)


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


def test_lab09_as_a_script_exports_a_train_py_run(tmp_path, small_datafile):
    run = str(tmp_path / "cnn-run")
    done = run_script(["train.py", "--epochs", "1", "--out", run], tmp_path, small_datafile)
    assert done.returncode == 0, done.stderr[-2000:]
    done = run_script(["labs/09_export_inference.py", "--quick", "--run", run], tmp_path, small_datafile)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "epoch 0 done" not in done.stdout  # exported the run's weights, trained nothing
    assert done.stdout.count("same predictions: True") == 4
    export = next(tmp_path.glob("runs/lab09/*/export"))
    assert {"model.json", "model.pdmodel"} & set(os.listdir(export))  # the graph: Paddle 3 (PIR) or Paddle 2


def test_lab10_high_level_api_matches_the_loop(tmp_path, small_datafile):
    out = run_lab("10_high_level_api.py", tmp_path, small_datafile)
    high_level = float(re.search(r"paddle.Model\s+([\d.]+)%", out).group(1))
    hand = float(re.search(r"hand-written loop\s+([\d.]+)%", out).group(1))
    assert high_level > 30 and hand > 30 and abs(high_level - hand) < 15
    predicted, labels = re.search(r"predict on 10 eval digits: (\[.*?\]) \(labels (\[.*?\])\)", out).groups()
    assert sum(p == l for p, l in zip(eval(predicted), eval(labels))) >= 5
