"""Build notebooks/<lab>.ipynb from labs/<lab>.py, so a lab has one source and two forms.

A lab is a Python script in the percent format (the one jupytext and VS Code read):

    # %% [markdown]           a markdown cell: the lines below, each starting with "# ", are its text
    # %% tags=["parameters"]  the cell of plain values a notebook edits and a script takes as flags
    # %%                      a code cell

The notebooks are written without outputs, so they change only when a lab does. Commands:

    python -m digits.notebooks            # regenerate every notebook
    python -m digits.notebooks --check    # exit 1, naming the notebooks that are stale or missing
"""
import argparse
import glob
import json
import os
import re
import sys

from . import PROJECT_ROOT

LABS = os.path.join(PROJECT_ROOT, "labs")
NOTEBOOKS = os.path.join(PROJECT_ROOT, "notebooks")
CELL_MARKER = re.compile(r"^# %%(?P<markdown> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$")
PREFACE = ("*Generated from [`labs/{name}.py`](../labs/{name}.py), which runs the same code as a script. "
           "First install the project from its folder (`pip install -e .`, see the README's \"On AI Studio\"); "
           "the cell tagged `parameters` holds the values to edit.*")


def lab_files(labs=LABS):
    """Every lab script, in the course's order."""
    return sorted(glob.glob(os.path.join(labs, "[0-9]*.py")))


def cells_of(text):
    """Split a percent-format script into (kind, tags, lines) cells; text before the first marker is a code cell."""
    cells, kind, tags, lines = [], "code", [], []
    for line in text.splitlines():
        marker = CELL_MARKER.match(line)
        if marker:
            cells.append((kind, tags, lines))
            kind = "markdown" if marker["markdown"] else "code"
            tags, lines = json.loads(marker["tags"]) if marker["tags"] else [], []
        else:
            lines.append(line)
    cells.append((kind, tags, lines))
    return [(kind, tags, trimmed(kind, lines)) for kind, tags, lines in cells if any(line.strip() for line in lines)]


def trimmed(kind, lines):
    """A cell's lines without the blank ones around it; markdown loses its comment signs."""
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    if kind == "markdown":
        lines = [line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines]
    return lines


def notebook(path):
    """The notebook (as a JSON-ready dict, nbformat 4.5) of the lab script at `path`."""
    name = os.path.splitext(os.path.basename(path))[0]
    with open(path, encoding="utf-8") as f:
        cells = cells_of(f.read())
    if not cells or cells[0][0] != "markdown":
        raise ValueError(f"{os.path.relpath(path, PROJECT_ROOT)}: a lab starts with a markdown cell "
                         f"(# %% [markdown]) holding its title")
    cells.insert(1, ("markdown", [], [PREFACE.format(name=name)]))
    return {
        "cells": [cell(f"{name}-{i}", kind, tags, lines) for i, (kind, tags, lines) in enumerate(cells)],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def cell(cell_id, kind, tags, lines):
    source = [line + "\n" for line in lines[:-1]] + lines[-1:]
    made = {"cell_type": kind, "id": cell_id, "metadata": {"tags": tags} if tags else {}, "source": source}
    if kind == "code":
        made.update(execution_count=None, outputs=[])
    return made


def notebook_text(path):
    return json.dumps(notebook(path), indent=1, ensure_ascii=False) + "\n"


def notebook_path(lab_path, notebooks=NOTEBOOKS):
    return os.path.join(notebooks, os.path.splitext(os.path.basename(lab_path))[0] + ".ipynb")


def stale(labs=LABS, notebooks=NOTEBOOKS):
    """Notebooks that differ from their labs, are missing, or have no lab any more."""
    problems = []
    for lab in lab_files(labs):
        target = notebook_path(lab, notebooks)
        shown = os.path.relpath(target, PROJECT_ROOT)
        try:
            expected = notebook_text(lab)
        except ValueError as error:
            problems.append(str(error))
            continue
        if not os.path.exists(target):
            problems.append(f"{shown} is missing")
        else:
            with open(target, encoding="utf-8") as f:
                if f.read() != expected:
                    problems.append(f"{shown} differs from its lab")
    wanted = {notebook_path(lab, notebooks) for lab in lab_files(labs)}
    problems += [f"{os.path.relpath(extra, PROJECT_ROOT)} has no lab" for extra in
                 sorted(glob.glob(os.path.join(notebooks, "*.ipynb"))) if extra not in wanted]
    return problems


def write(labs=LABS, notebooks=NOTEBOOKS):
    """Write the notebook of every lab whose notebook is missing or stale; returns False if a lab is malformed."""
    os.makedirs(notebooks, exist_ok=True)
    ok = True
    for lab in lab_files(labs):
        try:
            text = notebook_text(lab)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            ok = False
            continue
        target = notebook_path(lab, notebooks)
        if not os.path.exists(target) or open(target, encoding="utf-8").read() != text:
            with open(target, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"wrote {os.path.relpath(target, PROJECT_ROOT)}")
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale notebooks (exit 1 if any)")
    args = parser.parse_args()
    if args.check:
        problems = stale()
        for problem in problems:
            print(problem)
        if problems:
            print("regenerate them with `python -m digits.notebooks`")
        sys.exit(1 if problems else 0)
    sys.exit(0 if write() else 1)


if __name__ == "__main__":
    main()
