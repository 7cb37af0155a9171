"""Shared fixtures: a small course file built from the real MNIST through the real prepare path, and local
HTTP servers for the download tests."""
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
# scripts run by the tests get the thread count a user's shell would give them.
SCRIPT_ENV = dict(os.environ)

import digits  # noqa: E402
from digits.prepare import prepare  # noqa: E402

SOURCE = os.environ.get("MNIST_SOURCE") or os.path.join(digits.PROJECT_ROOT, "..", "shared", "data", "mnist")
SIZES = (2000, 500, 500)  # train, valid, eval: the first images of each course split


@pytest.fixture(scope="session")
def source():
    if not os.path.isdir(SOURCE):
        pytest.fail(f"the real MNIST files are expected in {SOURCE} (or set MNIST_SOURCE)")
    return SOURCE


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


def run_lab(name, tmp_path, datafile, **parameters):
    """Execute the notebook of labs/<name> as a student would, in quick mode, on `datafile`, in `tmp_path`.

    The values in `parameters` (and quick = True) go into a cell after the notebook's parameters cell, as
    papermill injects them. Fails with the error cell's traceback unless every cell runs. Returns the text
    the notebook printed; the executed notebook is kept as tmp_path/<lab>.ipynb (see notebook_images).
    """
    stem = os.path.splitext(name)[0]
    notebook = nbformat.read(os.path.join(digits.PROJECT_ROOT, "notebooks", f"{stem}.ipynb"), as_version=4)
    at = next(i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", []))
    values = "\n".join(f"{key} = {value!r}" for key, value in {"quick": True, **parameters}.items())
    notebook.cells.insert(at + 1, nbformat.v4.new_code_cell(values, metadata={"tags": ["injected-parameters"]}))
    client = NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute(env={**SCRIPT_ENV, "MNIST_JSON": str(datafile)})
    except CellExecutionError as error:
        pytest.fail(f"{stem}.ipynb failed in quick mode:\n{str(error)[-4000:]}")
    finally:
        nbformat.write(notebook, str(tmp_path / f"{stem}.ipynb"))
    check_recorded(stem, tmp_path)
    return "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                   for output in cell.outputs if output.get("name") == "stdout")


def check_recorded(stem, tmp_path):
    """The lab kept exactly the numbers its entry in digits/published.py lists (the lab report reads them)."""
    from digits.published import BY_NAME
    found = sorted(glob.glob(str(tmp_path / "runs" / "*" / "*" / "results.json")), key=os.path.getmtime)
    assert found, f"{stem} recorded no results.json (digits.lab.record)"
    with open(found[-1], encoding="utf-8") as f:
        recorded = json.load(f)
    assert stem in BY_NAME, f"{stem} has no entry in digits/published.py"
    assert sorted(recorded) == sorted(n.key for n in BY_NAME[stem].numbers), (stem, sorted(recorded))


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
