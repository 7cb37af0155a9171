"""What every lab shares: its parameters (a notebook's parameters cell, a script's flags) and where it writes.

A lab declares its parameters once, as plain variables in the cell tagged "parameters", each with a
comment saying what it is:

    # %% tags=["parameters"]
    epochs = 10      # passes over the training set (the course's 10)
    seed = 0         # fixes Python, NumPy and Paddle randomness
    quick = False    # one epoch only: a smoke test, as CI runs the labs

then calls `out = lab_setup("lab02", globals())`, and ends with `record(out, name=value, ...)`: its
headline numbers, which `python -m tools.report` puts in the lab report beside the course's. In a
notebook the values stand as written (edit the cell, or let papermill inject new ones after it). Run as
a script, each variable is also a flag (`--epochs 3`, `--quick`, `--no-onednn` for a True one), its help
is the line's comment, and the flags given replace the values, just as papermill's injected cell does.
"""
import argparse
import ast
import json
import os
import signal
import sys
from dataclasses import fields
from numbers import Integral, Real

import numpy as np

from .cli import add_config_arguments
from .errors import UserError, terminate
from .fileio import write_text
from .onednn import use_onednn
from .plots import in_notebook
from .runs import new_run_path
from .training import TrainConfig

CHECKS = {f.name: f.metadata["check"] for f in fields(TrainConfig)}  # epochs, seed, ...: as train.py checks them
COMMON = ("epochs", "seed", "quick", "onednn")  # the parameters most labs have: checked in a notebook too
RUN_FOLDER = "LAB_RUN_FOLDER"  # where a lab writes when this is set (python -m tools.report sets it), else runs/<lab>/<time>


def lab_setup(lab, parameters):
    """Settle the lab's parameters in `parameters` (its globals()) and return a new folder runs/<lab>/<time>.

    Afterwards quick=True has set epochs to 1, onednn has picked the convolution kernels, and a UserError
    raised later by the lab shows as one line (error: ...), not a traceback.
    """
    cell = parameters_cell(parameters.get("__file__"))  # {name: help}; None in a notebook (it has no file)
    names = list(cell) if cell is not None else [name for name in COMMON if name in parameters]
    if in_notebook():
        _show_user_errors_in_notebook()
    else:
        _show_user_errors_in_script()
        flags = parse_flags(parameters.get("__file__"), {name: parameters[name] for name in names}, cell or {})
        parameters.update(vars(flags))
    for name in names:
        problem = CHECKS[name](parameters[name]) if CHECKS.get(name) else None
        if problem:
            raise UserError(f"{name} = {parameters[name]!r}: {problem}")
    if parameters.get("quick") and "epochs" in parameters:
        parameters["epochs"] = min(parameters["epochs"], 1)
    if "onednn" in parameters:
        use_onednn(parameters["onednn"])
    path = os.environ.get(RUN_FOLDER) or new_run_path(os.path.join("runs", lab), "run", reserve=True)
    os.makedirs(path, exist_ok=True)
    return path


def record(out, **numbers):
    """Keep the lab's headline numbers (name=value, plain numbers or booleans) in out/results.json, where
    `python -m tools.report` reads them; tools/published.py says how each is shown and what the course printed."""
    plain = {}
    for name, value in numbers.items():
        if isinstance(value, (bool, np.bool_)):
            plain[name] = bool(value)
        elif isinstance(value, Integral):
            plain[name] = int(value)
        elif isinstance(value, Real):
            plain[name] = float(value)
        else:
            raise TypeError(f"record({name}=...): a number or a boolean, not {type(value).__name__}")
    write_text(os.path.join(out, "results.json"), json.dumps(plain, indent=1))


def print_table(header, rows):
    """Print rows as aligned columns under `header` (a list of column names): the first column left-aligned,
    the others right-aligned; each cell is printed as str(cell), so format numbers before passing them."""
    table = [[str(cell) for cell in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                        for i, (cell, width) in enumerate(zip(row, widths))).rstrip())


def parameters_cell(path):
    """{name: help} for each `name = value  # help` line of the file's cell tagged "parameters", or None."""
    if not path or not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("# %%") and '"parameters"' in line]
    if not starts:
        return None
    cell = {}
    for line in lines[starts[0] + 1:]:
        if line.startswith("# %%"):
            break
        code, _, comment = line.partition("  #")
        try:
            statement = ast.parse(code).body
        except SyntaxError:
            continue
        if statement and isinstance(statement[0], ast.Assign) and isinstance(statement[0].targets[0], ast.Name):
            cell[statement[0].targets[0].id] = comment.strip().lstrip("#").strip()
    return cell


def parse_flags(path, values, helps):
    """The command line's values for the lab's parameters: one flag per parameter, defaults from the cell,
    help from `helps` (the comments on the cell's lines)."""
    title = _title(path)
    parser = argparse.ArgumentParser(description=title)
    declared = [name for name in values if name in CHECKS]  # as train.py declares them: same help and checks
    add_config_arguments(parser, names=declared)
    for name, value in values.items():
        flag = "--" + name.replace("_", "-")
        if name in declared:
            parser.set_defaults(**{name: value})
        elif isinstance(value, bool):
            if value:
                parser.add_argument(f"--no-{name.replace('_', '-')}", dest=name, action="store_false",
                                    help=helps.get(name))
            else:
                parser.add_argument(flag, action="store_true", help=helps.get(name))
        elif isinstance(value, (list, tuple)):
            kind = type(value[0]) if value else _literal  # an empty list: each item as Python reads it
            parser.add_argument(flag, type=kind, nargs="+", default=value, help=helps.get(name))
        else:
            kind = type(value) if isinstance(value, (int, float)) else str
            shown = f" (default: {value})" if value is not None else ""
            parser.add_argument(flag, type=kind, default=value, help=(helps.get(name) or "") + shown)
    return parser.parse_args()


def _literal(text):
    """A flag's value as Python reads it (3 -> 3, 0.5 -> 0.5), or the text itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _title(path):
    """The lab's title: the first heading of its first markdown cell."""
    if not path or not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("# # "):
                return line[4:].strip()
    return None


def _show_user_errors_in_script():
    """As digits.errors.run_main does for train.py: a UserError is one line, Ctrl-C or SIGTERM 'interrupted'."""
    def hook(kind, error, traceback):
        if issubclass(kind, UserError):
            print(f"error: {error}", file=sys.stderr)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(2)  # as run_main's exit code for a user error (a hook cannot set it; an uncaught error gives 1)
        elif issubclass(kind, KeyboardInterrupt):
            print("interrupted", file=sys.stderr)
        else:
            sys.__excepthook__(kind, error, traceback)

    sys.excepthook = hook
    signal.signal(signal.SIGTERM, terminate)  # replaces Paddle's handler, which prints a C++ stack dump


def _show_user_errors_in_notebook():
    from IPython import get_ipython

    def show(shell, kind, error, traceback, tb_offset=None):
        print(f"error: {error}", file=sys.stderr)

    get_ipython().set_custom_exc((UserError,), show)

