"""A checkpoint is one unit: a kill at any step of its write, a damaged file, a torn metrics line or a
second writer never yields a silently wrong resume."""
import json
import os
import subprocess
import sys
import time

import numpy as np
import paddle
import pytest

import digits
from conftest import run_script
from digits.errors import UserError
from digits.runs import Run, read_weights

sys.path.insert(0, os.path.join(digits.PROJECT_ROOT, "bench"))
from crash_matrix import BOUNDARIES, SETTINGS  # noqa: E402


def train(tmp_path, datafile, *args):
    return run_script(["train.py", *SETTINGS, *args], tmp_path, datafile)


def weights(folder):
    return read_weights(Run(folder).model_file())


@pytest.fixture(scope="module")
def straight(tmp_path_factory, small_datafile):
    folder = tmp_path_factory.mktemp("straight")
    done = train(folder, small_datafile, "--out", str(folder / "run"))
    assert done.returncode == 0, done.stderr
    return weights(str(folder / "run"))


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_a_kill_at_each_step_of_a_checkpoint_write_resumes_exactly(tmp_path, small_datafile, straight, boundary):
    out = str(tmp_path / "run")
    killed = subprocess.run([sys.executable, os.path.join(digits.PROJECT_ROOT, "bench", "crash_matrix.py"), "--child",
                             "--data", small_datafile, "--out", out, "--kill-after", boundary],
                            capture_output=True, text=True)
    assert killed.returncode == 137, killed.stderr[-2000:]
    expected_epoch = 1 if boundary == "rename" else 0   # the new checkpoint counts only once renamed into place
    assert Run(out).checkpoint()["epoch"] == expected_epoch
    resumed = run_script(["train.py", "--resume", out], tmp_path, small_datafile)
    assert resumed.returncode == 0, resumed.stderr
    assert f"at epoch {expected_epoch + 1}" in resumed.stdout
    got = weights(out)
    assert all(np.array_equal(got[k], straight[k]) for k in straight)


def test_a_damaged_newest_checkpoint_falls_back_to_the_one_before(tmp_path, small_datafile, straight):
    out = str(tmp_path / "run")
    assert train(tmp_path, small_datafile, "--out", out, "--stop-after", "2").returncode == 0
    newest = os.path.join(out, "checkpoints", "epoch-0001", "optimizer.npz")
    with open(newest, "r+b") as f:  # flip one byte in the middle
        f.seek(os.path.getsize(newest) // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))
    resumed = run_script(["train.py", "--resume", out], tmp_path, small_datafile)
    assert resumed.returncode == 0, resumed.stderr
    assert "epoch-0001 is damaged (optimizer.npz does not match its manifest); using the one before it" in resumed.stdout
    assert "resuming" in resumed.stdout and "at epoch 1" in resumed.stdout
    got = weights(out)
    assert all(np.array_equal(got[k], straight[k]) for k in straight)


def test_a_torn_last_metrics_line_is_dropped_on_resume_and_compare(tmp_path, small_datafile):
    out = str(tmp_path / "run")
    assert train(tmp_path, small_datafile, "--out", out, "--stop-after", "1").returncode == 0
    with open(os.path.join(out, "metrics.jsonl"), "a") as f:
        f.write('{"kind": "batch", "epoch": 1, "lo')   # a kill in the middle of a write
    compared = run_script(["train.py", "--compare", out, "--compare-out", str(tmp_path / "c.png")], tmp_path)
    assert compared.returncode == 0, compared.stderr
    resumed = run_script(["train.py", "--resume", out], tmp_path, small_datafile)
    assert resumed.returncode == 0, resumed.stderr
    lines = open(os.path.join(out, "metrics.jsonl")).read().splitlines()
    assert all(json.loads(line) for line in lines)


def test_a_run_still_training_refuses_a_second_writer(tmp_path, small_datafile):
    out = str(tmp_path / "run")
    first = subprocess.Popen([sys.executable, os.path.join(digits.PROJECT_ROOT, "train.py"), *SETTINGS,
                              "--epochs", "20", "--data", small_datafile, "--out", out],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(600):  # until the first epoch has finished
            if Run(out).checkpoint() if os.path.exists(os.path.join(out, "config.json")) else None:
                break
            time.sleep(0.1)
        second = run_script(["train.py", "--resume", out], tmp_path, small_datafile)
        assert second.returncode == 2
        assert f"{out} is being trained by process {first.pid}: wait for it to finish" in second.stderr
    finally:
        first.kill()
        first.wait()


def test_resume_before_any_epoch_finished_starts_from_the_beginning(tmp_path, small_datafile, straight):
    out = str(tmp_path / "run")
    killed = subprocess.run([sys.executable, os.path.join(digits.PROJECT_ROOT, "bench", "crash_matrix.py"), "--child",
                             "--data", small_datafile, "--out", out, "--kill-after", "model.npz"],
                            capture_output=True, text=True)
    assert killed.returncode == 137
    for name in os.listdir(os.path.join(out, "checkpoints")):   # as if killed inside the first epoch
        if name.startswith("epoch-"):
            import shutil
            shutil.rmtree(os.path.join(out, "checkpoints", name))
    resumed = run_script(["train.py", "--resume", out], tmp_path, small_datafile)
    assert resumed.returncode == 0, resumed.stderr
    assert "no epoch had finished, so it starts from the beginning" in resumed.stdout
    got = weights(out)
    assert all(np.array_equal(got[k], straight[k]) for k in straight)


def test_resume_refuses_flags_that_would_change_the_run(tmp_path, small_datafile):
    out = str(tmp_path / "run")
    assert train(tmp_path, small_datafile, "--out", out, "--stop-after", "1").returncode == 0
    refused = run_script(["train.py", "--resume", out, "--lr", "0.1", "--model", "cnn"], tmp_path, small_datafile)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (f"error: --resume continues {out} with its own settings; drop --lr 0.1 (the run has "
                                      f"0.01), --model cnn (the run has mlp), or start a new run with them")
    longer = run_script(["train.py", "--resume", out, "--epochs", "4"], tmp_path, small_datafile)
    assert longer.returncode == 0, longer.stderr
    assert Run(out).config["epochs"] == 4 and Run(out).checkpoint()["epoch"] == 3


@pytest.mark.parametrize("flags, message", [
    (["--epochs", "0"], "argument --epochs: 0: must be at least 1"),
    (["--epochs", "-1"], "argument --epochs: -1: must be at least 1"),
    (["--stop-after", "0"], "argument --stop-after: 0: must be at least 1"),
    (["--grad-clip", "-1"], "argument --grad-clip: -1: must be at least 0"),
    (["--weight-decay", "-0.1"], "argument --weight-decay: -0.1: must be at least 0"),
    (["--batch-size", "0"], "argument --batch-size: 0: must be at least 1"),
    (["--log-interval", "0"], "argument --log-interval: 0: must be at least 1"),
    (["--seed", "-1"], "argument --seed: -1: give 0 to 4294967295"),
    (["--lr", "0"], "argument --lr: 0: must be above 0"),
    (["--epochs", "two"], "argument --epochs: 'two' is not a whole number"),
])
def test_bad_flags_are_one_line_at_the_parser(tmp_path, flags, message):
    done = run_script(["train.py", *flags], tmp_path)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_out_naming_a_file_or_a_folder_of_other_files_is_refused(tmp_path, small_datafile):
    (tmp_path / "notes.txt").write_text("mine")
    for out, message in ((tmp_path / "notes.txt", "is a file: name a new folder"),
                         (tmp_path, "is a folder with other files in it")):
        done = run_script(["train.py", "--out", str(out)], tmp_path, small_datafile)
        assert done.returncode == 2 and message in done.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_full_disk_while_writing_a_checkpoint_keeps_the_previous_one(tmp_path, monkeypatch):
    """No small filesystem can be mounted here without privileges, so the disk fills up by injection: the
    second file of the write fails with ENOSPC, as writing it would on a full disk."""
    import errno

    from digits import runs
    model = paddle.nn.Linear(4, 2)
    optimizer = paddle.optimizer.Adam(0.01, parameters=model.parameters())
    run = Run.create(str(tmp_path / "run"), {"model": "linear"})
    run.save_checkpoint(model, optimizer, 0, 10)
    before = weights(run.path)
    model.weight.set_value(model.weight + 1)
    real_save = runs.save_arrays

    def save(path, arrays):
        if path.endswith("optimizer.npz"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(path, arrays)
    monkeypatch.setattr(runs, "save_arrays", save)
    with pytest.raises(UserError, match=r"could not write the checkpoint of epoch 1 in .* \(No space left on device\): "
                                        r"free some space, then --resume .*; the checkpoint of epoch 0 is kept"):
        run.save_checkpoint(model, optimizer, 1, 20)
    assert run.checkpoint()["epoch"] == 0 and os.listdir(os.path.join(run.path, "checkpoints")) == ["epoch-0000"]
    got = weights(run.path)
    assert all(np.array_equal(got[k], before[k]) for k in before)
