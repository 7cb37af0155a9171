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


def test_requirements_txt_installs_the_cpu_build_in_the_tested_range():
    with open(os.path.join(digits.PROJECT_ROOT, "requirements.txt")) as f:
        lines = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    assert "paddlepaddle>=2.6.2,<4" in lines and "-e .[test,app]" in lines
