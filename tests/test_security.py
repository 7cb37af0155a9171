"""Opening a run folder someone shared never runs code from it.

Every file of a run folder (and of the shipped model) is replaced, in turn, by a booby-trapped pickle: a file
whose unpickling would create a marker file (a real attack would run a command instead). The manifest is
rewritten to the new SHA-256, as an attacker would. eval.py, train.py --resume and the app's loading must refuse
it in one line, and the marker must not appear. A run of the old pickled layout is refused before anything is
opened.
"""
import hashlib
import io
import json
import os
import pickle
import shutil

import numpy as np
import pytest

import digits
from conftest import run_script
from digits.errors import UserError
from models import load_trained
from digits.runs import MANIFEST

SHIPPED = os.path.join(digits.PROJECT_ROOT, "pretrained", "robust")


class Trap:
    """Unpickled, it creates the file `marker`."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, "w")


def booby_trapped_pickle(marker):
    return pickle.dumps(Trap(str(marker)))


def booby_trapped_npz(marker):
    """A .npz whose one array is an object array: numpy pickles its items, so loading it would unpickle."""
    buffer = io.BytesIO()
    np.savez(buffer, **{"fc.weight": np.array([Trap(str(marker))], dtype=object)})
    return buffer.getvalue()


def rehash(checkpoint):
    """Rewrite a checkpoint's manifest to its files' new sizes and SHA-256, as an attacker would."""
    path = os.path.join(checkpoint, MANIFEST)
    with open(path, encoding="utf-8") as f:
        manifest = json.load(f)
    for name in manifest["files"]:
        content = open(os.path.join(checkpoint, name), "rb").read()
        manifest["files"][name] = {"bytes": len(content), "sha256": hashlib.sha256(content).hexdigest()}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(manifest, f)


def test_the_traps_are_real(tmp_path):
    """What the tests below plant would run if it were unpickled: these are the loads they guard against."""
    pickle.loads(booby_trapped_pickle(tmp_path / "a"))
    with np.load(io.BytesIO(booby_trapped_npz(tmp_path / "b")), allow_pickle=True) as archive:
        archive["fc.weight"]
    assert (tmp_path / "a").exists() and (tmp_path / "b").exists()


@pytest.fixture(scope="module")
def trained(tmp_path_factory, small_datafile):
    folder = tmp_path_factory.mktemp("shared")
    done = run_script(["train.py", "--model", "mlp", "--epochs", "2", "--out", str(folder / "run")], folder,
                      small_datafile)
    assert done.returncode == 0, done.stderr
    return folder / "run"


def newest_checkpoint(run):
    return sorted((run / "checkpoints").glob("epoch-*"))[-1]


# every file with each trap in the full tier; one of each in the quick tier
CASES = [pytest.param(name, trap, marks=[] if (name, trap) in QUICK else [pytest.mark.full])
         for QUICK in [{("model.npz", "pickle"), ("optimizer.npz", "npz with an object array")}]
         for name in ("model.npz", "optimizer.npz", "rng.json", "checkpoint.json")
         for trap in ("pickle", "npz with an object array")]


@pytest.mark.parametrize("name, trap", CASES)
def test_a_booby_trapped_file_in_a_run_folder_runs_nothing(trained, tmp_path, small_datafile, name, trap):
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    marker = tmp_path / "ran"
    content = booby_trapped_pickle(marker) if trap == "pickle" else booby_trapped_npz(marker)
    for checkpoint in (run / "checkpoints").glob("epoch-*"):
        (checkpoint / name).write_bytes(content)
        rehash(checkpoint)
    outcomes = [run_script(["eval.py", str(run)], tmp_path, small_datafile),
                run_script(["train.py", "--resume", str(run), "--epochs", "3"], tmp_path, small_datafile)]
    for done in outcomes:
        assert "Traceback" not in done.stderr, done.stderr
    if name in ("model.npz", "checkpoint.json"):  # what eval.py reads: it refuses
        assert outcomes[0].returncode == 2 and outcomes[0].stderr.count("\n") == 1, outcomes[0].stderr
    assert outcomes[1].returncode in (0, 2)  # refused, or (a damaged record) trained from an earlier state
    try:  # what the app does when the run is picked
        load_trained(str(run))
    except UserError as error:
        assert "\n" not in str(error)
    assert not marker.exists(), "code from the run folder ran"


def test_a_run_of_the_old_pickled_layout_is_refused_unopened(trained, tmp_path, small_datafile):
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    marker = tmp_path / "ran"
    for checkpoint in (run / "checkpoints").glob("epoch-*"):
        for name in ("model.npz", "optimizer.npz", "rng.json"):
            (checkpoint / name).unlink()
        for name in ("model.pdparams", "model.pdopt", "rng.pkl"):
            (checkpoint / name).write_bytes(booby_trapped_pickle(marker))
    for command in (["eval.py", str(run)], ["train.py", "--resume", str(run)],
                    ["eval.py", str(run), "--image", str(tmp_path / "any.png")]):
        done = run_script(command, tmp_path, small_datafile)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert "written by an earlier version of this project, whose checkpoints are pickles" in done.stderr
    with pytest.raises(UserError, match="earlier version"):
        load_trained(str(run))
    assert not marker.exists()


@pytest.mark.parametrize("name", ["model.npz", "training_means.npz", "config.json"])
def test_the_shipped_model_with_a_booby_trapped_file_runs_nothing(tmp_path, name):
    shipped = tmp_path / "robust"
    shutil.copytree(SHIPPED, shipped)
    marker = tmp_path / "ran"
    (shipped / name).write_bytes(booby_trapped_npz(marker) if name.endswith(".npz") else booby_trapped_pickle(marker))
    from digits.evaluation import photo_reference
    with pytest.raises(UserError) as error:
        load_trained(str(shipped))
        photo_reference(str(shipped))
    assert "\n" not in str(error.value)
    assert not marker.exists()
