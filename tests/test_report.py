"""The lab report: `python -m tools.report` runs labs as scripts, keeps their numbers, figures and times,
writes the report, and the README's lab tables are generated from the committed one."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import digits
from conftest import SCRIPT_ENV
from tools import report
from digits.errors import UserError
from tools.published import BY_NAME, LABS


@pytest.mark.full
def test_report_runs_labs_keeps_their_numbers_skips_what_is_done_and_survives_a_failure(tmp_path, small_datafile):
    out = tmp_path / "report"
    done = run_module(tmp_path, small_datafile, "--quick", "--labs", "02", "14a", "--out", str(out))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    for name in ("02_mlp_regression", "14a_regression_and_fitting"):
        kept = out / name
        results = json.loads((kept / "results.json").read_text())
        assert sorted(results) == sorted(n.key for n in BY_NAME[name].numbers)
        meta = meta_of(out, name)
        assert meta["quick"] is True and meta["exit_code"] == 0 and meta["seconds"] > 0
        assert meta["machine"]["cores"] >= 1 and meta["machine"]["paddle"]
        assert (kept / "log.txt").read_text().strip() and not (out / (name + ".running")).exists()
        figures = list(kept.glob("*.png"))
        assert figures and all(Image.open(f).width <= report.FIGURE_WIDTH for f in figures)
    # the lab's own numbers, as its printed output gives them, are the ones kept
    log = (out / "02_mlp_regression" / "log.txt").read_text()
    printed = float(re.search(r"eval MSE ([\d.]+)", log).group(1))
    kept_mse = json.loads((out / "02_mlp_regression" / "results.json").read_text())["eval_mse"]
    assert abs(printed - kept_mse) < 1e-4
    text = (out / "README.md").read_text()
    assert "2 of" in text and "Quick mode" in text and "![loss.png](02_mlp_regression/loss.png)" in text
    assert BY_NAME["02_mlp_regression"].show(json.loads((out / "02_mlp_regression" / "results.json").read_text())) in text
    meta = meta_of(out, "02_mlp_regression")

    again = run_module(tmp_path, small_datafile, "--quick", "--labs", "02", "--out", str(out))
    assert again.returncode == 0 and "02_mlp_regression: already in the report" in again.stdout
    assert meta_of(out, "02_mlp_regression") == meta

    # a full run is asked for, with the data file gone: lab 02 fails, says so in one line and keeps its quick
    # result; lab 14a (synthetic data) runs in full and replaces its quick result: nothing lost, nothing mixed
    missing = tmp_path / "missing.json.gz"
    failed = run_module(tmp_path, missing, "--labs", "02", "14a", "--out", str(out))
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert failed.stderr.strip().splitlines()[-1].startswith("error: 1 lab(s) failed: 02_mlp_regression")
    assert "02_mlp_regression: FAILED" in failed.stdout and "not found" in failed.stdout
    assert (out / "02_mlp_regression.failed" / "log.txt").exists()
    assert meta_of(out, "02_mlp_regression") == meta
    assert meta_of(out, "14a_regression_and_fitting")["quick"] is False


def test_bad_lab_names_are_one_line(tmp_path, small_datafile):
    done = run_module(tmp_path, small_datafile, "--labs", "99", "--out", str(tmp_path / "r"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "error: --labs 99: no such lab; choose from 00, 01" in done.stderr
    with pytest.raises(UserError, match="--labs 1: matches 10_high_level_api, 11_numpy_two_layer_net"):
        report.choose(["1"])
    assert [lab.name for lab in report.choose(["11", "02"])] == ["02_mlp_regression", "11_numpy_two_layer_net"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_readme_lab_tables_are_generated_from_the_committed_report(lang):
    path = report.READMES[lang]
    readme = open(path, encoding="utf-8").read()
    for name, block in report.readme_blocks(report.FULL_REPORT, lang).items():
        found = re.search(f"<!-- begin {name} -->\n(.*?)\n<!-- end {name} -->", readme, re.S)
        assert found, f"{os.path.basename(path)} has no generated {name} block"
        assert found.group(1) == block, (f"{os.path.basename(path)}'s {name} block is stale: run "
                                         f"`python -m tools.report --readme`")
    # every catalogued lab of the course and NumPy tracks has a row (the speed ladder has its own section),
    # and every lab file is catalogued
    for lab in LABS:
        assert f"[`{lab.name}.py`](labs/{lab.name}.py)" in readme or lab.track == "speed"
    files = sorted(f[:-3] for f in os.listdir(os.path.join(digits.PROJECT_ROOT, "labs")) if f[0].isdigit())
    assert files == sorted(lab.name for lab in LABS)


def test_the_committed_report_is_complete_and_its_figures_small():
    entries = report.collected(report.FULL_REPORT)
    for lab, results, meta in entries:
        assert meta["exit_code"] == 0 and not meta["quick"], lab.name
        assert sorted(results) == sorted(n.key for n in lab.numbers), lab.name
    sizes = [os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(report.FULL_REPORT) for f in files]
    assert sum(sizes) < 8e6


def run_module(tmp_path, datafile, *args, env=None):
    """python -m tools.report ARGS, as a user runs it from the project folder."""
    return subprocess.run([sys.executable, "-m", "tools.report", *args], cwd=digits.PROJECT_ROOT,
                          env={**SCRIPT_ENV, "MNIST_JSON": str(datafile), **(env or {})}, capture_output=True,
                          text=True, timeout=600)


def meta_of(out, name):
    return json.loads((out / name / "meta.json").read_text())


@pytest.mark.full
def test_a_killed_report_takes_its_running_lab_with_it(tmp_path, small_datafile):
    """kill -9 of `python -m tools.report` leaves no orphaned lab to race a rerun (Linux: PR_SET_PDEATHSIG)."""
    import signal
    import time
    out = tmp_path / "r"
    process = subprocess.Popen([sys.executable, "-m", "tools.report", "--labs", "02", "--out", str(out)],
                               cwd=digits.PROJECT_ROOT, env={**SCRIPT_ENV, "MNIST_JSON": str(small_datafile)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, lab = time.time() + 120, None
    while lab is None and time.time() < deadline:  # the lab's process, once the report has started it
        for child in open(f"/proc/{process.pid}/task/{process.pid}/children").read().split():
            try:
                if "02_mlp_regression.py" in open(f"/proc/{child}/cmdline").read():
                    lab = int(child)
            except OSError:  # a short-lived helper process that has already ended
                pass
        time.sleep(0.2)
    assert lab, "the report did not start its lab"
    process.send_signal(signal.SIGKILL)
    process.wait()
    for _ in range(50):
        if not os.path.exists(f"/proc/{lab}") or open(f"/proc/{lab}/stat").read().split()[2] == "Z":
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the lab (process {lab}) outlived the killed report")


def test_a_kept_figure_keeps_every_lines_colour(tmp_path):
    """The report shrinks each figure to 64 colours; the five curves of a figure must keep five colours (lab
    07's legend once showed two reds and a grey for tab10's blue, orange, green, red)."""
    import matplotlib
    import matplotlib.pyplot as plt
    running, final = tmp_path / "lab.running", tmp_path / "lab"
    running.mkdir()
    fig, ax = plt.subplots(figsize=(10, 4))
    for index in range(5):
        ax.plot(range(50), [index + (step % 7) / 10 for step in range(50)], label=f"C{index}", lw=1.5)
    ax.legend()
    fig.savefig(running / "curves.png", dpi=100)
    plt.close(fig)
    report.keep(str(running), str(final))
    colours = {tuple(c) for c in np.asarray(Image.open(final / "curves.png").convert("RGB")).reshape(-1, 3).tolist()}
    for name in ("C0", "C1", "C2", "C3", "C4"):
        wanted = tuple(round(255 * v) for v in matplotlib.colors.to_rgb(name))
        assert min(sum(abs(a - b) for a, b in zip(wanted, colour)) for colour in colours) <= 24, name
