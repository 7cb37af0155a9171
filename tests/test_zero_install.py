"""AI Studio with nothing to install: the notebooks run on a Python that has Paddle, NumPy, matplotlib, Pillow and
a Jupyter kernel, as AI Studio's images do, and nothing of this project, found from the notebooks' own folder.

The kernel runs in a throwaway virtualenv (ZERO_INSTALL_PYTHON names one to reuse: .ci/paddle26's, which holds
Paddle 2.6.2 and not the project). The project is copied as a student unpacks it (into a folder of their own,
here the test's), and each Chinese notebook runs with its folder, notebooks/zh/, as the working directory.
"""
import json
import os
import shutil
import subprocess
import sys

import pytest

import digits
from conftest import SCRIPT_ENV, run_lab

pytestmark = pytest.mark.full

# the Chinese edition of the course's first labs and of the NumPy track's first; ZERO_INSTALL_LABS may name
# fewer (.ci/run runs two on the newest Paddle, .ci/paddle26 all of them on Paddle 2.6.2)
LABS = os.environ.get("ZERO_INSTALL_LABS", "").split() or [
    "00_minimal_linear", "01_data", "02_mlp_regression", "03_cnn_regression", "04_loss_functions",
    "11_numpy_two_layer_net"]
PROJECT_PARTS = ("digits", "models", "labs", "notebooks", "train.py", "eval.py")


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory):
    """A Python with only paddlepaddle, numpy, matplotlib, pillow and ipykernel (and what they need)."""
    if os.environ.get("ZERO_INSTALL_PYTHON"):
        return os.environ["ZERO_INSTALL_PYTHON"]
    import paddle
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    done = subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           f"paddlepaddle=={paddle.__version__}", "numpy", "matplotlib", "pillow", "ipykernel"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return python


@pytest.fixture(scope="module")
def kernel(bare_python, tmp_path_factory):
    """A Jupyter kernel spec that starts that Python; the name to give nbclient."""
    folder = tmp_path_factory.mktemp("jupyter")
    spec = folder / "kernels" / "bare"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [bare_python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (nothing of the project installed)", "language": "python"}))
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(folder), os.environ.get("JUPYTER_PATH")]))
    return "bare"


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory):
    """The project as a student unpacks it into a folder of their own (AI Studio: ~/work/<folder>)."""
    folder = tmp_path_factory.mktemp("work") / "paddle-digits"
    folder.mkdir()
    for part in PROJECT_PARTS:
        source = os.path.join(digits.PROJECT_ROOT, part)
        if os.path.isdir(source):
            shutil.copytree(source, folder / part, ignore=shutil.ignore_patterns("runs", "__pycache__", "*.pyc"))
        else:
            shutil.copy(source, folder / part)
    return folder


def bare_environment(datafile, source, untranslated=""):
    """The kernel's environment: no PYTHONPATH (nothing points at the project), the data where a student has it;
    figure texts left in English are noted in `untranslated` (digits.i18n)."""
    env = {key: value for key, value in SCRIPT_ENV.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "MNIST_JSON": str(datafile), "MNIST_SOURCE": str(source), "DIGITS_UNTRANSLATED": str(untranslated)}


def test_the_project_is_not_installed_in_that_python(bare_python, tmp_path):
    done = subprocess.run([bare_python, "-c", "import digits"], cwd=tmp_path, capture_output=True, text=True,
                          env=bare_environment("", ""))
    assert done.returncode != 0 and "No module named 'digits'" in done.stderr
    done = subprocess.run([bare_python, "-c", "import paddle, numpy, matplotlib, PIL, ipykernel"], cwd=tmp_path,
                          capture_output=True, text=True, env=bare_environment("", ""))
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("lab", LABS)
def test_a_chinese_notebook_runs_with_nothing_installed(lab, kernel, unpacked, tmp_path, small_datafile, source):
    folder, untranslated = unpacked / "notebooks" / "zh", tmp_path / "untranslated.txt"
    out = run_lab(lab, tmp_path, small_datafile, lang="zh", kernel=kernel, cwd=folder,
                  env=bare_environment(small_datafile, source, untranslated))
    assert "Traceback" not in out
    assert list((folder / "runs").glob("*/*/results.json")), "the lab wrote its run folder beside the notebook"
    # every figure's words are Chinese (where a Chinese font exists; without one they stay English on purpose)
    assert not untranslated.exists(), "figure texts left in English:\n" + untranslated.read_text(encoding="utf-8")
