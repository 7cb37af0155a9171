"""The notebooks are the labs: generated from them, current, and runnable with their parameters.

Every notebook is executed in quick mode by the lab tests (tests/test_labs*.py, conftest.run_lab)."""
import json
import shutil

import nbformat

from conftest import run_lab
from digits import notebooks


def test_every_notebook_is_current():
    problems = notebooks.stale()
    assert not problems, "\n".join(problems) + "\nregenerate them with `python -m digits.notebooks`"


def test_every_lab_has_one_parameters_cell_with_quick():
    for lab in notebooks.lab_files():
        cells = notebooks.cells_of(open(lab, encoding="utf-8").read())
        parameters = [lines for kind, tags, lines in cells if "parameters" in tags]
        assert len(parameters) == 1, lab
        assert any(line.startswith("quick = False") for line in parameters[0]), lab


def test_a_changed_lab_makes_its_notebook_stale(tmp_path):
    labs, books = tmp_path / "labs", tmp_path / "notebooks"
    labs.mkdir()
    shutil.copy(notebooks.LABS + "/02_mlp_regression.py", labs)
    assert notebooks.write(str(labs), str(books)) and notebooks.stale(str(labs), str(books)) == []
    nbformat.validate(nbformat.read(str(books / "02_mlp_regression.ipynb"), as_version=4))

    lab = labs / "02_mlp_regression.py"
    lab.write_text(lab.read_text().replace("epochs = 10", "epochs = 11"))
    assert [p.endswith("differs from its lab") for p in notebooks.stale(str(labs), str(books))] == [True]
    (books / "99_gone.ipynb").write_text("{}")
    assert any(p.endswith("99_gone.ipynb has no lab") for p in notebooks.stale(str(labs), str(books)))


def test_cells_follow_the_percent_format(tmp_path):
    lab = tmp_path / "01_x.py"
    lab.write_text('# %% [markdown]\n# # Title\n#\n# text\n\n# %%\nimport os\n\n\n'
                   '# %% tags=["parameters"]\nquick = False  # smoke test\n\n# %%\nprint(quick)\n')
    notebook = json.loads(notebooks.notebook_text(str(lab)))
    kinds = [(c["cell_type"], c["metadata"].get("tags"), "".join(c["source"])) for c in notebook["cells"]]
    assert kinds[0] == ("markdown", None, "# Title\n\ntext")
    assert kinds[1][0] == "markdown" and "01_x.py" in kinds[1][2]  # the preface: where the notebook comes from
    assert kinds[2:] == [("code", None, "import os"), ("code", ["parameters"], "quick = False  # smoke test"),
                         ("code", None, "print(quick)")]


def test_a_bad_parameter_in_a_notebook_is_one_line(tmp_path, small_datafile):
    """A notebook has no parser: lab_setup checks the values as train.py's flags are checked."""
    try:
        run_lab("02_mlp_regression.py", tmp_path, small_datafile, epochs=0, quick=False)
    except BaseException as failure:  # pytest.fail's exception
        message = str(failure)
    else:
        raise AssertionError("epochs = 0 ran")
    assert "epochs = 0: must be at least 1" in message
