"""What the install commands do to an environment that has Paddle already (AI Studio, a GPU build)."""
import os
import re

import pytest

import digits

try:
    import tomllib  # Python 3.11+
except ImportError:  # Python 3.10 (AI Studio's): tomli, the package tomllib came from (pytest needs it there)
    tomllib = pytest.importorskip("tomli")


def project():
    with open(os.path.join(digits.PROJECT_ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)["project"]


def test_the_project_does_not_require_a_paddle_package():
    """`pip install -e .` on a GPU image must not add a CPU paddlepaddle beside paddlepaddle-gpu (both own
    the one paddle/ folder), nor upgrade an image's Paddle 2.6: so no Paddle distribution is a dependency."""
    spec = project()
    requirements = spec["dependencies"] + [r for extra in spec.get("optional-dependencies", {}).values() for r in extra]
    assert not [r for r in requirements if re.match(r"paddlepaddle", r, re.I)], requirements


def test_requirements_txt_installs_the_cpu_build_and_the_core_only():
    """README command 1 installs what train.py needs: Paddle's CPU build and the project's core (numpy,
    matplotlib, pillow); the tests' tools and the app's Gradio are extras with their own install line."""
    with open(os.path.join(digits.PROJECT_ROOT, "requirements.txt")) as f:
        lines = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    assert lines == ["paddlepaddle>=2.6.2,<4", "-e ."]
    spec = project()
    assert sorted(re.split(r"[<>=]", r)[0] for r in spec["dependencies"]) == ["matplotlib", "numpy", "pillow"]
    assert "gradio" in " ".join(spec["optional-dependencies"]["app"])
    assert {"pytest", "nbclient", "ipykernel"} <= set(spec["optional-dependencies"]["test"])
