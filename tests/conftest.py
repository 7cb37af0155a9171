"""Shared fixtures: a small course file built from the real MNIST through the real prepare path, and local
HTTP servers for the download tests; the two tiers.

`python -m pytest -q` runs the quick tier: every module, on a real MNIST subset, in a few minutes.
`python -m pytest -q --full` adds the full tier (tests marked `full`): every lab's notebook executed, the
zero-install notebooks, the app in a browser, multi-process training, the lab report, the speed ladder.
The real MNIST comes from MNIST_SOURCE, else ../shared/data/mnist beside the project (this repository's CI),
else the project's checked download, once, into the user's cache folder."""
import functools
import glob
import http.server
import json
import os
import subprocess
import sys
import threading

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

# The environment as it was before any test imported paddle, which sets OMP_NUM_THREADS=1 in this process:
# scripts run by the tests get the thread count a user's shell would give them, and find the project's
# packages whether or not it is installed.
SCRIPT_ENV = dict(os.environ)

import digits  # noqa: E402
from digits.errors import UserError  # noqa: E402
from digits.datafile import user_cache_folder  # noqa: E402
from digits.idx import download  # noqa: E402
from digits.prepare import prepare  # noqa: E402

SCRIPT_ENV["PYTHONPATH"] = os.pathsep.join(filter(None, [digits.PROJECT_ROOT, SCRIPT_ENV.get("PYTHONPATH")]))
SHARED = os.path.join(digits.PROJECT_ROOT, "..", "shared", "data", "mnist")
SIZES = (2000, 500, 500)  # train, valid, eval: the first images of each course split


def pytest_addoption(parser):
    parser.addoption("--full", action="store_true",
                     help="also run the full tier: every lab's notebook, zero-install notebooks, the app in a "
                          "browser, multi-process training, the report (about 15 minutes on 2 cores)")


def pytest_configure(config):
    config.addinivalue_line("markers", "full: the full tier, run with --full (slow: notebooks, browser, processes)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--full"):
        return
    full = [item for item in items if item.get_closest_marker("full")]
    if full:
        config.hook.pytest_deselected(items=full)
        items[:] = [item for item in items if not item.get_closest_marker("full")]


def pytest_report_header(config):
    return ("tiers: quick and full" if config.getoption("--full") else
            "tier: quick (python -m pytest --full adds notebooks, the browser, processes, the report)")


def mnist_source():
    """The four real MNIST files: MNIST_SOURCE, else ../shared beside the project, else downloaded once (checked
    against the published checksums) into the user's cache folder."""
    if os.environ.get("MNIST_SOURCE"):
        return os.environ["MNIST_SOURCE"]
    if os.path.isdir(SHARED):
        return SHARED
    folder = os.path.join(user_cache_folder(), "mnist-idx")
    print(f"\ntests: no ../shared/data/mnist beside the project: using MNIST from {folder} (downloaded once, "
          f"checked against the published checksums)")
    try:
        return download(folder)
    except UserError as error:
        pytest.exit(f"the tests need the real MNIST files and could not download them ({error}); set "
                    f"MNIST_SOURCE=DIR to a folder holding the four .gz files", returncode=4)


@pytest.fixture(scope="session")
def source():
    return mnist_source()


@pytest.fixture(scope="session")
def small_datafile(tmp_path_factory, source):
    return prepare(str(tmp_path_factory.mktemp("data") / "mnist.json.gz"), source, sizes=SIZES)


def run_script(args, cwd, datafile=None, env=None, timeout=600):
    """Run one of the project's scripts as a user would; return the completed process."""
    full_env = {**SCRIPT_ENV, **(env or {})}
    if datafile:
        full_env["MNIST_JSON"] = str(datafile)
    script = os.path.join(digits.PROJECT_ROOT, args[0])
    return subprocess.run([sys.executable, script, *args[1:]], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


def run_lab(name, tmp_path, datafile, lang="en", kernel="python3", cwd=None, env=None, **parameters):
    """Execute the `lang` notebook of labs/<name> as a student would, in quick mode, on `datafile`, with `cwd`
    (default `tmp_path`) as its folder, in the Jupyter kernel `kernel`, with the environment `env` (default:
    the tests' own, which finds the project).

    The values in `parameters` (and quick = True) go into a cell after the notebook's parameters cell, as
    papermill injects them. Fails with the error cell's traceback unless every cell runs. Returns the text
    the notebook printed; the executed notebook is kept as tmp_path/<lab>.ipynb (see notebook_images).
    """
    stem = os.path.splitext(name)[0]
    cwd = cwd or tmp_path
    notebook = nbformat.read(os.path.join(digits.PROJECT_ROOT, "notebooks", lang, f"{stem}.ipynb"), as_version=4)
    at = next(i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", []))
    values = "\n".join(f"{key} = {value!r}" for key, value in {"quick": True, **parameters}.items())
    notebook.cells.insert(at + 1, nbformat.v4.new_code_cell(values, metadata={"tags": ["injected-parameters"]}))
    client = NotebookClient(notebook, timeout=900, kernel_name=kernel, resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute(env=env if env is not None else {**SCRIPT_ENV, "MNIST_JSON": str(datafile)})
    except CellExecutionError as error:
        pytest.fail(f"{lang}/{stem}.ipynb failed in quick mode:\n{str(error)[-4000:]}")
    finally:
        nbformat.write(notebook, str(tmp_path / f"{stem}.ipynb"))
    check_recorded(stem, cwd)
    check_runs_load(cwd)
    return "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                   for output in cell.outputs if output.get("name") == "stdout")


def recorded(folder, lab="*", single=False):
    """The numbers a lab kept with digits.lab.record: results.json of its newest run folder under
    folder/runs/<lab>/<time>/ (lab: "lab03", ...; "*" any lab). single: assert the lab wrote one run folder."""
    found = sorted(glob.glob(os.path.join(str(folder), "runs", lab, "*", "results.json")), key=os.path.getmtime)
    assert found, f"{lab} recorded no results.json (digits.lab.record) under {folder}/runs"
    assert len(found) == 1 or not single, found
    with open(found[-1], encoding="utf-8") as f:
        return json.load(f)


def check_recorded(stem, folder):
    """The lab kept exactly the numbers its entry in tools/published.py lists (the lab report reads them)."""
    from tools.published import BY_NAME
    numbers = recorded(folder)
    assert stem in BY_NAME, f"{stem} has no entry in tools/published.py"
    assert sorted(numbers) == sorted(n.key for n in BY_NAME[stem].numbers), (stem, sorted(numbers))


def check_runs_load(folder):
    """Every run folder the lab wrote loads as eval.py and the app load it (its config records what rebuilding
    the model takes), and reads a digit."""
    import numpy as np
    from digits.reading import read_images
    from models import load_trained
    for config in glob.glob(os.path.join(str(folder), "runs", "**", "config.json"), recursive=True):
        run = os.path.dirname(config)
        if not os.path.isdir(os.path.join(run, "checkpoints")):
            continue
        model, loss, _ = load_trained(run)
        predicted, _ = read_images(model, loss, np.zeros((1, 28, 28), np.float32))
        assert predicted.shape == (1,) and 0 <= predicted[0] <= 9, run


def notebook_images(tmp_path, name):
    """How many figures each code cell of the executed notebook tmp_path/<lab>.ipynb shows: {cell index: n}."""
    notebook = nbformat.read(str(tmp_path / f"{os.path.splitext(name)[0]}.ipynb"), as_version=4)
    return {i: sum("image/png" in output.get("data", {}) for output in cell.outputs)
            for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"}


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder without logging every request to the test output."""

    def log_message(self, *args):
        pass


def folder_handler(folder):
    return functools.partial(QuietHandler, directory=str(folder))


@pytest.fixture
def serve():
    """Start HTTP servers on 127.0.0.1; serve(handler) returns the URL of a new one."""
    servers = []

    def start(handler):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
