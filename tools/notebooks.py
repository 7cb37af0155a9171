"""Build notebooks/en/<lab>.ipynb and notebooks/zh/<lab>.ipynb from labs/<lab>.py: one program, two narrations.

A lab is a Python script in the percent format (the one jupytext and VS Code read):

    # %% [markdown] lang="en"    lesson text in English: the lines below, each starting with "# "
    # %% [markdown] lang="zh"    the same lesson in Chinese, right after its English twin
    # %% tags=["parameters"]     the cell of plain values a notebook edits and a script takes as flags
    # %%                         a code cell: shared by both editions

Every markdown cell is one of a pair, English then Chinese; a lesson cell in one language only is an
error. Each edition gets its language's text, every code cell, and a setup cell of its own after the
title: it finds the project folder above the notebook and imports from there (nothing to install, as on
AI Studio, which forgets pip installs when it restarts) and sets DIGITS_LANG, the figures' language.
The notebooks are written without outputs, so they change only when a lab does. Commands:

    python -m tools.notebooks            # regenerate every notebook
    python -m tools.notebooks --check    # exit 1, naming the notebooks that are stale, missing or orphaned
"""
import argparse
import glob
import json
import os
import re
import sys

from digits import PROJECT_ROOT

LABS = os.path.join(PROJECT_ROOT, "labs")
NOTEBOOKS = os.path.join(PROJECT_ROOT, "notebooks")
LANGUAGES = ("en", "zh")
CELL_MARKER = re.compile(r'^# %%(?P<markdown> \[markdown\])?(?: lang="(?P<lang>[a-z]+)")?(?: tags=(?P<tags>\[.*\]))?\s*$')
PREFACE = {
    "en": ("*Generated from [`labs/{name}.py`](../../labs/{name}.py), which runs the same code as a script; "
           "[中文版](../zh/{name}.ipynb). Nothing needs installing: the next cell imports the project from the "
           "folder above this notebook. The cell tagged `parameters` holds the values to edit.*"),
    "zh": ("*本笔记本由 [`labs/{name}.py`](../../labs/{name}.py) 生成，脚本运行的是同一份代码；"
           "[English](../en/{name}.ipynb)。无需安装：下一个单元格从本笔记本上方的项目文件夹导入代码。"
           "要修改的参数都在标记为 `parameters` 的单元格里。*"),
}
SETUP = {
    "en": ("# Setup: import the project from the folder above this notebook (nothing to install), figures in English",
           "open this notebook inside the project's notebooks/ folder: no folder above it holds digits/"),
    "zh": ("# 准备：从本笔记本上方的项目文件夹导入代码（无需安装），图中文字用中文",
           "请在项目的 notebooks/ 文件夹里打开本笔记本：它上方的文件夹里都没有 digits/"),
}
SETUP_CODE = '''{comment}
import importlib.util
import os
import sys

project = os.getcwd()
while not os.path.isfile(os.path.join(project, "digits", "__init__.py")) and os.path.dirname(project) != project:
    project = os.path.dirname(project)
if os.path.isfile(os.path.join(project, "digits", "__init__.py")):
    sys.path.insert(0, project)
elif importlib.util.find_spec("digits") is None:  # not above, and not installed either
    raise RuntimeError("{missing}")
os.environ["DIGITS_LANG"] = "{lang}"'''


class LabFormatError(ValueError):
    """A lab script that does not follow the format above."""


def lab_files(labs=LABS):
    """Every lab script, in the course's order."""
    return sorted(glob.glob(os.path.join(labs, "[0-9]*.py")))


def cells_of(text):
    """Split a percent-format script into (kind, lang, tags, lines) cells; text before the first marker is a
    code cell. lang is "en" or "zh" for markdown, None for code."""
    cells, kind, lang, tags, lines = [], "code", None, [], []
    for line in text.splitlines():
        marker = CELL_MARKER.match(line)
        if marker:
            cells.append((kind, lang, tags, lines))
            kind, lang = ("markdown" if marker["markdown"] else "code"), marker["lang"]
            tags, lines = json.loads(marker["tags"]) if marker["tags"] else [], []
        else:
            lines.append(line)
    cells.append((kind, lang, tags, lines))
    return [(kind, lang, tags, trimmed(kind, lines)) for kind, lang, tags, lines in cells
            if any(line.strip() for line in lines)]


def trimmed(kind, lines):
    """A cell's lines without the blank ones around it; markdown loses its comment signs."""
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    if kind == "markdown":
        lines = [line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines]
    return lines


def pairing_problems(cells):
    """What breaks the rule "every markdown cell is an English cell followed by its Chinese twin"."""
    problems = []

    def where(i):
        first = next((line for line in cells[i][3] if line.strip()), "")
        return f"markdown cell {i + 1} ({first[:50]!r})"

    for i, (kind, lang, _, _) in enumerate(cells):
        if kind != "markdown":
            if lang:
                problems.append(f"code cell {i + 1} has lang={lang!r}: only markdown cells have a language")
            continue
        previous = cells[i - 1] if i else None
        following = cells[i + 1] if i + 1 < len(cells) else None
        if lang not in LANGUAGES:
            problems.append(f"{where(i)} has no lang=\"en\" or lang=\"zh\"")
        elif lang == "en" and not (following and following[0] == "markdown" and following[1] == "zh"):
            problems.append(f"{where(i)} is in English only: add its Chinese twin (lang=\"zh\") right after it")
        elif lang == "zh" and not (previous and previous[0] == "markdown" and previous[1] == "en"):
            problems.append(f"{where(i)} is in Chinese only: put its English twin (lang=\"en\") right before it")
    return problems


def notebook(path, lang):
    """The notebook (as a JSON-ready dict, nbformat 4.5) of the lab script at `path`, in `lang`."""
    name = os.path.splitext(os.path.basename(path))[0]
    shown = os.path.relpath(path, PROJECT_ROOT)
    with open(path, encoding="utf-8") as f:
        cells = cells_of(f.read())
    problems = pairing_problems(cells)
    if problems:
        raise LabFormatError(f"{shown}: {problems[0]}")
    if not cells or cells[0][0] != "markdown":
        raise LabFormatError(f"{shown}: a lab starts with a markdown cell (# %% [markdown] lang=\"en\") holding its title")
    chosen = [(kind, tags, lines) for kind, cell_lang, tags, lines in cells if kind == "code" or cell_lang == lang]
    comment, missing = SETUP[lang]
    setup = SETUP_CODE.format(comment=comment, missing=missing, lang=lang).splitlines()
    chosen[1:1] = [("markdown", [], [PREFACE[lang].format(name=name)]), ("code", ["setup"], setup)]
    return {
        "cells": [cell(f"{name}-{lang}-{i}", kind, tags, lines) for i, (kind, tags, lines) in enumerate(chosen)],
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


def notebook_text(path, lang):
    return json.dumps(notebook(path, lang), indent=1, ensure_ascii=False) + "\n"


def notebook_path(lab_path, lang, notebooks=NOTEBOOKS):
    return os.path.join(notebooks, lang, os.path.splitext(os.path.basename(lab_path))[0] + ".ipynb")


def stale(labs=LABS, notebooks=NOTEBOOKS):
    """Notebooks that differ from their labs, are missing, or have no lab any more; malformed labs."""
    problems = []
    for lab in lab_files(labs):
        for lang in LANGUAGES:
            target = notebook_path(lab, lang, notebooks)
            shown = os.path.relpath(target, PROJECT_ROOT)
            try:
                expected = notebook_text(lab, lang)
            except LabFormatError as error:
                problems.append(str(error))
                break
            if not os.path.exists(target):
                problems.append(f"{shown} is missing")
            else:
                with open(target, encoding="utf-8") as f:
                    if f.read() != expected:
                        problems.append(f"{shown} differs from its lab")
    wanted = {notebook_path(lab, lang, notebooks) for lab in lab_files(labs) for lang in LANGUAGES}
    problems += [f"{os.path.relpath(extra, PROJECT_ROOT)} has no lab" for extra in
                 sorted(glob.glob(os.path.join(notebooks, "**", "*.ipynb"), recursive=True))
                 if extra not in wanted and ".ipynb_checkpoints" not in extra]
    return problems


def write(labs=LABS, notebooks=NOTEBOOKS):
    """Write both editions of every lab whose notebook is missing or stale, and remove notebooks that have no
    lab any more; returns False if a lab is malformed (its notebooks are then left as they are)."""
    ok = True
    for lab in lab_files(labs):
        try:
            texts = {lang: notebook_text(lab, lang) for lang in LANGUAGES}
        except LabFormatError as error:
            print(f"error: {error}", file=sys.stderr)
            ok = False
            continue
        for lang, text in texts.items():
            target = notebook_path(lab, lang, notebooks)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if not os.path.exists(target) or open(target, encoding="utf-8").read() != text:
                with open(target, "w", encoding="utf-8") as f:
                    f.write(text)
                print(f"wrote {os.path.relpath(target, PROJECT_ROOT)}")
    wanted = {notebook_path(lab, lang, notebooks) for lab in lab_files(labs) for lang in LANGUAGES}
    for extra in sorted(glob.glob(os.path.join(notebooks, "**", "*.ipynb"), recursive=True)):
        if extra not in wanted and ".ipynb_checkpoints" not in extra and ok:
            os.remove(extra)
            print(f"removed {os.path.relpath(extra, PROJECT_ROOT)} (no lab)")
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
            print("regenerate them with `python -m tools.notebooks`")
        sys.exit(1 if problems else 0)
    sys.exit(0 if write() else 1)


if __name__ == "__main__":
    main()
