"""A lab's text states none of our own results as a fixed number: every percentage with a decimal (97.9%) in
a lesson cell, in either language, is one the course (or the lab's source) published, as tools/published.py
quotes it. Our results are printed by the lab and kept in the report; typed into the prose, they go stale the
day the lab changes."""
import os
import re

import pytest

from tools.notebooks import LABS, cells_of
from tools.published import LABS as CATALOGUE

PERCENT = re.compile(r"(\d+\.\d+)\s*%")
NUMBER = re.compile(r"\d+\.\d+")


def lesson_text(lab):
    """Every markdown cell of the lab, both languages."""
    with open(os.path.join(LABS, lab.name + ".py"), encoding="utf-8") as f:
        cells = cells_of(f.read())
    return "\n".join(line for kind, _, _, lines in cells if kind == "markdown" for line in lines)


def published(lab):
    return {number for n in lab.numbers for text in (n.published, n.published_zh) if text
            for number in NUMBER.findall(text)}


@pytest.mark.parametrize("lab", CATALOGUE, ids=lambda lab: lab.name)
def test_every_result_in_a_labs_text_was_recorded_or_published(lab):
    typed = sorted(set(PERCENT.findall(lesson_text(lab))) - published(lab))
    assert not typed, (f"labs/{lab.name}.py states {', '.join(p + '%' for p in typed)}, not among the course's "
                       f"published numbers (tools/published.py): point to the printed output or the report instead")
