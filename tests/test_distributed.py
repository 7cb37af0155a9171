"""Data-parallel training with Paddle's launcher: 2 CPU processes end with identical weights."""
import json
import os
import re
import subprocess
import sys

import pytest

import digits

pytestmark = pytest.mark.full  # the full tier: python -m pytest --full


def launch(tmp_path, datafile, logs, *train_args):
    """train.py on 2 CPU processes under Paddle's launcher; returns each rank's log."""
    done = subprocess.run(
        [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2", "--log_dir", str(logs),
         os.path.join(digits.PROJECT_ROOT, "train.py"), *train_args],
        cwd=tmp_path, env={**os.environ, "MNIST_JSON": str(datafile)}, capture_output=True, text=True, timeout=600)
    worker_logs = [(logs / f"workerlog.{rank}").read_text() for rank in (0, 1)]
    assert done.returncode == 0, done.stdout[-3000:] + "".join(worker_logs)[-3000:]
    return worker_logs


def test_two_processes_train_one_model_and_resume(tmp_path, small_datafile):
    out = tmp_path / "run"
    first = launch(tmp_path, small_datafile, tmp_path / "log", "--epochs", "2", "--stop-after", "1", "--batch-size", "50",
                   "--log-interval", "5", "--device", "cpu", "--out", str(out))
    assert "epoch: 0, batch: 0" in first[0] and "epoch: 0, batch: 0" not in first[1]  # only rank 0 speaks
    worker_logs = launch(tmp_path, small_datafile, tmp_path / "log-resumed", "--resume", str(out), "--device", "cpu")
    assert "resuming" in worker_logs[0] and "epoch: 1, batch: 0" in worker_logs[0]

    checksums = [re.search(rf"rank {rank}: parameter checksum (\S+)", log).group(1) for rank, log in enumerate(worker_logs)]
    assert checksums[0] == checksums[1]

    with open(out / "metrics.jsonl") as f:
        records = [json.loads(line) for line in f]
    batches = [r for r in records if r["kind"] == "batch"]
    assert [r["epoch"] for r in records if r["kind"] == "epoch"] == [0, 1]
    assert batches[-1]["batch"] == 15  # each rank saw 2000 / 2 images per epoch, in 20 batches of 50
    assert batches[-1]["window_loss"] < batches[0]["window_loss"] / 2
    assert [r for r in records if r["kind"] == "eval"][0]["accuracy"] > 0.8
    assert sorted(os.listdir(tmp_path)) == ["log", "log-resumed", "run"]  # only rank 0 wrote a run folder
