"""Shared fixtures: a small course file built from the real MNIST through the real prepare path, and local
HTTP servers for the download tests."""
import functools
import http.server
import os
import subprocess
import sys
import threading

import pytest

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


def run_lab(name, tmp_path, datafile, *args):
    """Run labs/<name> in quick mode on `datafile`; fail with its output unless it succeeds."""
    done = run_script([f"labs/{name}", "--quick", *args], tmp_path, datafile)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


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
