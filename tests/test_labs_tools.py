"""Labs 07-10 run end to end in quick mode (one epoch on the small course file) and show their result.

The numbers come from the results.json each lab records (digits.lab.record); the printed output is read only
for the lessons' key lines."""
import importlib.util
import os
import re

import pytest

from conftest import notebook_images, recorded, run_lab, run_script

pytestmark = pytest.mark.full  # the full tier: python -m pytest --full
LABS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "labs")


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
    # the table: one row per setting, and their numbers in results.json
    assert re.findall(r"^(none|L2 \S+|dropout 0.5)\s+.*%$", out, re.M) == \
        ["none", "L2 1e-5", "L2 1e-3", "L2 1e-2", "dropout 0.5"]
    numbers = recorded(tmp_path, "lab07")
    for setting in ("none", "l2_1e5", "l2_1e3", "l2_1e2", "dropout"):
        assert 0.3 < numbers[f"valid_{setting}"] <= 1  # one epoch on 2,000 images: well above chance (0.1)
        assert -0.3 < numbers[f"gap_{setting}"] < 0.3
    assert list(tmp_path.glob("runs/lab07/*/train_vs_valid_loss.png"))
    # the course's VisualDL loop: run when visualdl is installed, else one line on how to get it
    if importlib.util.find_spec("visualdl"):
        assert "VisualDL: acc and loss logged in" in out and list(tmp_path.glob("runs/lab07/*/log/*"))
    else:
        assert re.search(r"VisualDL is not installed \(optional: pip install visualdl\); `python train.py "
                         r"--visualdl` logs the same scalars", out)
    # the live train vs valid curves: one figure in the notebook, updated in place as the settings train
    assert sorted(n for n in notebook_images(tmp_path, "07_debug_and_tune.py").values() if n) == [1]


def test_lab08_resume_is_exact(tmp_path, small_datafile):
    out = run_lab("08_resume.py", tmp_path, small_datafile)
    # the lab's own loop: paddle.save per epoch, paddle.load + set_state_dict, then bit for bit
    assert "restored: scheduler step 20, learning rate 0.005500" in out
    assert "(bit for bit: True)" in out
    numbers = recorded(tmp_path, "lab08")
    assert numbers["losses_equal"] is True and numbers["weights_equal"] is True
    assert numbers["final_lr"] == pytest.approx(0.001)  # the schedule resumed at its step and ran to its end
    assert list(tmp_path.glob("runs/lab08/*/checkpoint_stopped/mnist_epoch0.pdopt"))
    # the live losses of the three runs: one figure in the notebook, and its PNG
    assert list(tmp_path.glob("runs/lab08/*/losses.png"))
    assert sorted(n for n in notebook_images(tmp_path, "08_resume.py").values() if n) == [1]
    # the library: train.py --stop-after, then --resume, lands on the same weights
    assert "resuming" in out
    assert "train.py, stopped and resumed: its" in out
    assert numbers["library_equal"] is True and 0.3 < numbers["library_eval_accuracy"] <= 1


def test_lab09_export_parity_and_eval_of_the_export(tmp_path, small_datafile):
    out = run_lab("09_export_inference.py", tmp_path, small_datafile)
    numbers = recorded(tmp_path, "lab09")
    # the course's Linear(784, 10): trained one epoch, its loss falls; saved, loaded, it reads eval image 0, a 7
    assert re.search(r"^epoch: 0, batch: 0, loss is: [\d.]+$", out, re.M)
    assert numbers["linear_last_loss"] < 0.8 * numbers["linear_first_loss"]
    assert numbers["first_eval_label"] == 7 and numbers["linear_predicts_first_eval"] == 7
    assert "the loaded model predicts 7" in out
    assert list(tmp_path.glob("runs/lab09/*/inference/mnist.pdiparams"))
    # the CNN's export against the dynamic graph: Paddle's kernels exactly, oneDNN's within float32 rounding
    assert numbers["jit_difference"] == 0 and numbers["inference_difference"] == 0
    assert max(numbers["onednn_difference"], numbers["training_layers_difference"]) <= 1e-4  # logits up to ~20
    assert numbers["same_predictions"] is True
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
    assert "epoch 0 done" not in done.stdout  # exported the run's weights: no CNN trained (only the linear example)
    assert done.stdout.count("same predictions: True") == 4 and recorded(tmp_path, "lab09")["same_predictions"] is True
    export = next(tmp_path.glob("runs/lab09/*/export"))
    assert {"model.json", "model.pdmodel"} & set(os.listdir(export))  # the graph: Paddle 3 (PIR) or Paddle 2


def test_lab10_high_level_api_matches_the_loop(tmp_path, small_datafile):
    out = run_lab("10_high_level_api.py", tmp_path, small_datafile)
    numbers = recorded(tmp_path, "lab10")
    high_level, hand = numbers["high_level_accuracy"], numbers["hand_written_accuracy"]
    assert high_level > 0.3 and hand > 0.3 and abs(high_level - hand) < 0.15
    assert numbers["predict_correct"] >= 5
    assert re.search(r"^paddle.Model.predict on 10 eval digits: \[.*\] \(labels \[.*\]\)$", out, re.M)
    assert re.search(r"^paddle.Model\s+[\d.]+%", out, re.M) and re.search(r"^hand-written loop\s+[\d.]+%", out, re.M)
