"""The notebooks are the labs: generated from them in two editions (English, Chinese), current, and runnable
with their parameters.

Every notebook is executed in quick mode by the lab tests (tests/test_labs*.py, conftest.run_lab)."""
import json
import re
import shutil
import unicodedata

import nbformat

from conftest import run_lab
from tools import notebooks


def test_every_notebook_is_current():
    problems = notebooks.stale()
    assert not problems, "\n".join(problems) + "\nregenerate them with `python -m tools.notebooks`"


def test_every_lesson_cell_is_in_both_languages():
    for lab in notebooks.lab_files():
        cells = notebooks.cells_of(open(lab, encoding="utf-8").read())
        assert notebooks.pairing_problems(cells) == [], lab
        english = [lines for kind, lang, tags, lines in cells if lang == "en"]
        chinese = [lines for kind, lang, tags, lines in cells if lang == "zh"]
        assert len(english) == len(chinese) > 0, lab
        for en, zh in zip(english, chinese):  # twins: the same headings, and Chinese in the Chinese one
            assert [line.split(" ")[0] for line in en if line.startswith("#")] == \
                [line.split(" ")[0] for line in zh if line.startswith("#")], (lab, en[0], zh[0])
            assert any(re.search(r"[\u4e00-\u9fff]", line) for line in zh), (lab, zh[0])


OPENER_LEADS = {"en": ("- **Course:**", "- **Source:**", "- **You build:**", "- **You will see:**"),
                "zh": ("- **对应课程章节**", "- **来源**", "- **本实验要做的**", "- **你会看到**")}
CLOSING = {"en": "## How this lab differs from the course", "zh": "## 与课程的不同"}


def test_every_lab_opens_short_and_closes_with_its_differences():
    """One header form: the title, then at most 10 lines (what the course section is, what you build, what you
    will see); the lab's departures from the course in a closing cell of their own, in both languages."""
    for lab in notebooks.lab_files():
        cells = notebooks.cells_of(open(lab, encoding="utf-8").read())
        for lang in ("en", "zh"):
            markdown = [lines for kind, cell_lang, tags, lines in cells if cell_lang == lang]
            title, *opener = markdown[0]
            assert re.match(r"# (Lab|实验) \d+[ab]? · ", title), (lab, title)
            assert len(opener) <= 10, (lab, lang, f"{len(opener)} lines below the title")
            leads = [line for line in opener if line.startswith("- **")]
            assert [line.split("**")[1] for line in leads] == \
                [lead.split("**")[1] for lead in OPENER_LEADS[lang] if any(line.startswith(lead) for line in leads)]
            assert len(leads) == 3, (lab, lang, leads)
            assert markdown[-1][0] == CLOSING[lang], (lab, lang, markdown[-1][0])


def unflanked_bold(line):
    """The `**` of `line` that CommonMark will not take as bold: an opening one followed by punctuation after
    a letter, or a closing one after punctuation and followed by a letter (**来源：**的 stays literal)."""
    def kind(char):
        return "space" if not char or char.isspace() else "punct" if unicodedata.category(char)[0] in "PS" else "letter"
    found = []
    for index, match in enumerate(re.finditer(r"\*\*", line)):
        before, after = kind(line[match.start() - 1: match.start()]), kind(line[match.end(): match.end() + 1])
        opening = index % 2 == 0
        if (opening and after == "punct" and before == "letter") or (not opening and before == "punct" and after == "letter"):
            found.append(line[max(0, match.start() - 6): match.end() + 6])
    return found


def test_bold_renders_in_every_lesson_cell():
    assert unflanked_bold("- **来源：**某课程") and unflanked_bold("课程的**（注）**") and not unflanked_bold("- **来源**：某课程")
    for lab in notebooks.lab_files():
        for kind, lang, tags, lines in notebooks.cells_of(open(lab, encoding="utf-8").read()):
            for line in lines if kind == "markdown" else []:
                assert not unflanked_bold(line), (lab, line)


def test_the_labs_name_no_file_the_repository_lacks_and_no_private_attribute():
    for lab in notebooks.lab_files():
        text = open(lab, encoding="utf-8").read()
        assert "COURSE.md" not in text and "../shared" not in text, lab
        code = "\n".join(line for kind, lang, tags, lines in notebooks.cells_of(text) if kind == "code" for line in lines)
        assert not re.search(r"\b(?:layer|model|self\.\w+|network)\._[a-z]", code), lab


def test_a_lesson_cell_in_one_language_only_is_refused(tmp_path):
    labs, books = tmp_path / "labs", tmp_path / "notebooks"
    labs.mkdir()
    lab = labs / "01_x.py"
    lab.write_text('# %% [markdown] lang="en"\n# # Title\n\n# %% [markdown] lang="zh"\n# # 标题\n\n'
                   '# %% [markdown] lang="en"\n# ## Only English\n\n# %%\nx = 1\n', encoding="utf-8")
    problems = notebooks.stale(str(labs), str(books))
    assert len(problems) == 1 and problems[0].endswith(
        "01_x.py: markdown cell 3 ('## Only English') is in English only: add its Chinese twin (lang=\"zh\") right "
        "after it")
    assert not notebooks.write(str(labs), str(books)) and not books.exists()  # nothing written for a malformed lab
    lab.write_text('# %% [markdown] lang="en"\n# # Title\n\n# %% [markdown] lang="zh"\n# # 标题\n\n'
                   '# %% [markdown] lang="zh"\n# ## 只有中文\n\n# %%\nx = 1\n', encoding="utf-8")
    assert "is in Chinese only" in notebooks.stale(str(labs), str(books))[0]
    lab.write_text('# %% [markdown]\n# # Title\n\n# %%\nx = 1\n', encoding="utf-8")
    assert 'has no lang="en" or lang="zh"' in notebooks.stale(str(labs), str(books))[0]


def test_the_editions_share_every_code_cell_and_set_their_language():
    for lab in notebooks.lab_files():
        editions = {lang: notebooks.notebook(lab, lang)["cells"] for lang in notebooks.LANGUAGES}
        code = {lang: ["".join(c["source"]) for c in cells if c["cell_type"] == "code"] for lang, cells in editions.items()}
        assert code["en"][1:] == code["zh"][1:], lab  # one program ...
        for lang in notebooks.LANGUAGES:  # ... after a setup cell of each edition's own
            assert f'os.environ["DIGITS_LANG"] = "{lang}"' in code[lang][0]
            assert editions[lang][2]["metadata"] == {"tags": ["setup"]}
        prose = {lang: " ".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
                 for lang, cells in editions.items()}
        assert re.search(r"[\u4e00-\u9fff]{20}", prose["zh"]) and not re.search(r"[\u4e00-\u9fff]{20}", prose["en"])


def test_every_lab_has_one_parameters_cell_with_quick():
    for lab in notebooks.lab_files():
        cells = notebooks.cells_of(open(lab, encoding="utf-8").read())
        parameters = [lines for kind, lang, tags, lines in cells if "parameters" in tags]
        assert len(parameters) == 1, lab
        assert any(line.startswith("quick = False") for line in parameters[0]), lab


def test_a_changed_lab_makes_its_notebook_stale(tmp_path):
    labs, books = tmp_path / "labs", tmp_path / "notebooks"
    labs.mkdir()
    shutil.copy(notebooks.LABS + "/02_mlp_regression.py", labs)
    assert notebooks.write(str(labs), str(books)) and notebooks.stale(str(labs), str(books)) == []
    for lang in notebooks.LANGUAGES:
        nbformat.validate(nbformat.read(str(books / lang / "02_mlp_regression.ipynb"), as_version=4))

    lab = labs / "02_mlp_regression.py"
    lab.write_text(lab.read_text(encoding="utf-8").replace("epochs = 10", "epochs = 11"), encoding="utf-8")
    assert [p.endswith("differs from its lab") for p in notebooks.stale(str(labs), str(books))] == [True, True]
    lab.write_text(lab.read_text(encoding="utf-8").replace("# ## 网络结构", "# ## 网络的结构"), encoding="utf-8")
    notebooks.write(str(labs), str(books))
    assert "网络的结构" in (books / "zh" / "02_mlp_regression.ipynb").read_text(encoding="utf-8")
    (books / "zh" / "99_gone.ipynb").write_text("{}")
    assert any(p.endswith("99_gone.ipynb has no lab") for p in notebooks.stale(str(labs), str(books)))


def test_cells_follow_the_percent_format(tmp_path):
    lab = tmp_path / "01_x.py"
    lab.write_text('# %% [markdown] lang="en"\n# # Title\n#\n# text\n\n# %% [markdown] lang="zh"\n# # 标题\n#\n'
                   '# 正文\n\n# %%\nimport os\n\n\n# %% tags=["parameters"]\nquick = False  # smoke test\n\n'
                   '# %%\nprint(quick)\n', encoding="utf-8")
    for lang, title in (("en", "# Title\n\ntext"), ("zh", "# 标题\n\n正文")):
        notebook = json.loads(notebooks.notebook_text(str(lab), lang))
        kinds = [(c["cell_type"], c["metadata"].get("tags"), "".join(c["source"])) for c in notebook["cells"]]
        assert kinds[0] == ("markdown", None, title)
        assert kinds[1][0] == "markdown" and "01_x.py" in kinds[1][2]  # the preface: where the notebook comes from
        assert kinds[2][:2] == ("code", ["setup"])  # finds the project, sets the language
        assert kinds[3:] == [("code", None, "import os"), ("code", ["parameters"], "quick = False  # smoke test"),
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
