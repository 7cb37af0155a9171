"""A run is what it says it is: its data file is recorded and checked, its folder belongs to one process, and
settings that would train nothing (or something else than config.json says) are refused in one line."""
import gzip
import json
import os
import shutil
import subprocess
import sys

import pytest

import digits
from conftest import SCRIPT_ENV, run_script
from digits.runs import Run, new_run_path

QUICK = ["--model", "mlp", "--batch-size", "100", "--log-interval", "10"]


def train(tmp_path, datafile, *args):
    return run_script(["train.py", *QUICK, *args], tmp_path, datafile)


def one_line_error(done, message):
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and message in done.stderr and "Traceback" not in done.stderr, done.stderr


def few_images(datafile, path, count=200, change=lambda splits: splits):
    """A course file of the first `count` images of each split of `datafile`, changed by `change`."""
    with gzip.open(datafile, "rt") as f:
        splits = [[images[:count], labels[:count]] for images, labels in json.load(f)]
    with gzip.open(path, "wt") as f:
        json.dump(change(splits), f)
    return path


def test_the_run_records_its_data_file_and_resume_refuses_another_under_the_same_name(tmp_path, small_datafile):
    data = few_images(small_datafile, tmp_path / "mnist.json.gz")
    out = tmp_path / "run"
    assert train(tmp_path, data, "--epochs", "3", "--stop-after", "1", "--out", str(out)).returncode == 0
    config = Run.open(str(out)).config
    assert len(config["data_key"]) == 16 and config["pixel_range"] == [-1.0, 1.0]
    def one_pixel_changed(splits):
        splits[0][0][0][300] = 1.0
        return splits
    few_images(small_datafile, data, change=one_pixel_changed)  # the same path, other contents
    one_line_error(run_script(["train.py", "--resume", str(out)], tmp_path, data),
                   "is not the file " + str(out) + " was trained on (its contents changed since)")


def test_settings_that_would_train_nothing_or_something_else_are_refused(tmp_path, small_datafile):
    one_line_error(train(tmp_path, small_datafile, "--epochs", "1", "--stop-after", "5", "--out", str(tmp_path / "a")),
                   "--stop-after 5 is past the run's last epoch (--epochs 1)")
    assert not (tmp_path / "a").exists()
    out = tmp_path / "b"
    assert train(tmp_path, small_datafile, "--epochs", "2", "--out", str(out)).returncode == 0
    before = (out / "config.json").read_text()
    one_line_error(run_script(["train.py", "--resume", str(out), "--epochs", "1"], tmp_path, small_datafile),
                   f"{out} has already trained 2 epochs, so --epochs 1 leaves nothing to train: pass --epochs 3")
    assert (out / "config.json").read_text() == before  # not rewritten


def test_two_trainings_started_at_once_on_one_folder_never_mix(tmp_path, small_datafile):
    """Both start in the same instant with the same --out: one trains, the other is refused, and config.json is
    the winner's (the lock is taken before config.json is written)."""
    for attempt in range(3):
        out = tmp_path / f"run{attempt}"
        env = {**SCRIPT_ENV, "MNIST_JSON": str(small_datafile)}
        processes = [subprocess.Popen([sys.executable, os.path.join(digits.PROJECT_ROOT, "train.py"), *QUICK,
                                       "--epochs", "1", "--seed", str(seed), "--out", str(out)],
                                      cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for seed in (1, 2)]
        results = [(p.wait(timeout=300), *p.communicate()) for p in processes]
        winners = [seed for seed, (code, _, _) in zip((1, 2), results) if code == 0]
        assert len(winners) == 1, results
        loser = next(err for code, _, err in results if code != 0)
        assert ("already holds a run" in loser or "is being trained by" in loser) and "Traceback" not in loser
        assert Run.open(str(out)).config["seed"] == winners[0]


def test_default_run_names_never_collide(tmp_path):
    names = [new_run_path(str(tmp_path), "cnn-ce-adam", reserve=True) for _ in range(3)]
    assert len(set(names)) == 3 and all(os.path.isdir(name) for name in names)


@pytest.fixture(scope="module")
def finished(tmp_path_factory, small_datafile):
    folder = tmp_path_factory.mktemp("finished")
    data = folder / "mine.json.gz"
    shutil.copy(small_datafile, data)
    done = train(folder, data, "--epochs", "1", "--out", str(folder / "run"))
    assert done.returncode == 0, done.stderr
    return folder / "run", data


def test_eval_says_when_it_evaluates_on_another_file_or_range(finished, tmp_path, small_datafile):
    run, data = finished
    done = run_script(["eval.py", str(run)], tmp_path)
    assert done.returncode == 0 and "note:" not in done.stdout and "warning:" not in done.stdout
    other = few_images(small_datafile, tmp_path / "zero-to-one.json.gz", change=lambda splits: [  # pixels in [0, 1]
        [[[(v + 1) / 2 for v in image] for image in images], labels] for images, labels in splits])
    done = run_script(["eval.py", str(run), "--data", str(other)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"note: evaluating on {other}, not the file {run} was trained on ({data})" in done.stdout
    assert f"warning: {other} stores pixels in [0, 1], {run} learned from [-1, 1]" in done.stdout
    moved = tmp_path / "moved.json.gz"
    shutil.copy(data, moved)
    os.rename(data, tmp_path / "elsewhere.json.gz")
    try:
        done = run_script(["eval.py", str(run)], tmp_path, moved)
        assert (f"note: the file {run} was trained on, {data}, is gone: evaluating on {moved} instead (the same "
                f"contents)") in done.stdout
    finally:
        os.rename(tmp_path / "elsewhere.json.gz", data)


@pytest.mark.parametrize("target", ["/dev/zero", "folder"])
def test_data_that_is_no_regular_file_is_one_line(tmp_path, target):
    path = str(tmp_path) if target == "folder" else target
    one_line_error(run_script(["train.py", *QUICK, "--data", path], tmp_path, None, timeout=120),
                   "is not a regular file: name the course's mnist.json.gz file")


@pytest.mark.parametrize("damage", ["truncated", "mistyped", "not json"])
def test_a_damaged_config_json_is_one_line_for_eval_and_resume(finished, tmp_path, damage):
    run, data = finished
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    text = (copy / "config.json").read_text()
    (copy / "config.json").write_text({"truncated": text[:len(text) // 2],
                                       "mistyped": text.replace('"lr": 0.001', '"lr": "fast"'),
                                       "not json": "\x80\x04 not json"}[damage])
    for command in (["eval.py", str(copy)], ["train.py", "--resume", str(copy), "--epochs", "2"]):
        done = run_script(command, tmp_path, data)
        if damage == "mistyped" and command[0] == "eval.py":
            assert done.returncode == 0, done.stderr  # eval.py needs only the model's name and loss
            continue
        one_line_error(done, "config.json")


def test_unwritable_places_are_one_line(finished, tmp_path, small_datafile):
    run, data = finished
    (tmp_path / "notes.txt").write_text("mine")
    one_line_error(train(tmp_path, small_datafile, "--out", str(tmp_path / "notes.txt" / "run")),
                   "cannot create the run folder")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root without CAP_DAC_OVERRIDE limits)")
        one_line_error(run_script(["train.py", "--compare", str(run), "--compare-out", str(locked / "c.png")],
                                  tmp_path, data), "cannot write")
        one_line_error(train(tmp_path, small_datafile, "--out", str(locked / "run")), "cannot create the run folder")
    finally:
        locked.chmod(0o700)


def test_app_port_out_of_range_is_one_line(tmp_path):
    done = run_script(["app.py", "--port", "70000"], tmp_path)
    assert done.returncode == 2 and "argument --port: 70000: give a port from 1 to 65535" in done.stderr
    assert "Traceback" not in done.stderr


def test_report_readme_refuses_a_folder_without_results(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tools.report", "--readme", "--out", str(tmp_path)],
                          cwd=digits.PROJECT_ROOT, env=SCRIPT_ENV, capture_output=True, text=True)
    one_line_error(done, "holds no lab results")
