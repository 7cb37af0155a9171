"""The code meets the linter's rules (ruff, configured in pyproject.toml): no unused or undefined names."""
import os
import shutil
import subprocess

import pytest

import digits


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff")
    if ruff is None:
        message = 'ruff is not installed: pip install -e ".[test]"'
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    done = subprocess.run([ruff, "check", "--no-cache", "."], cwd=digits.PROJECT_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
