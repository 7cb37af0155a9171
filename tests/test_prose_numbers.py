"""A lab's text states no result that no run recorded. Every percentage with a decimal (97.9%) in a lesson
cell, in either language, is a number the course (or the lab's source) published, as tools/published.py
quotes it, or one that the lab's committed report run recorded (report/<lab>/results.json), as the report
shows it. Anything else is a number typed into the prose, which goes stale the day the lab changes."""
import json
import os
import re

import pytest

import digits
from tools.notebooks import LABS, cells_of
from tools.published import LABS as CATALOGUE

PERCENT = re.compile(r"(\d+\.\d+)\s*%")
NUMBER = re.compile(r"\d+\.\d+")


def lesson_text(lab):
    """Every markdown cell of the lab, both languages."""
    with open(os.path.join(LABS, lab.name + ".py"), encoding="utf-8") as f:
        cells = cells_of(f.read())
    return "\n".join(line for kind, _, _, lines in cells if kind == "markdown" for line in lines)


def recorded(lab):
    """The report run's numbers as a percentage could show them: 0.9732 as 97.3 and 97.32."""
    path = os.path.join(digits.PROJECT_ROOT, "report", lab.name, "results.json")
    values = json.load(open(path)) if os.path.exists(path) else {}
    shown = set()
    for value in values.values():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            for scale in (100, 1):
                shown |= {f"{scale * value:.{digits_after}f}" for digits_after in (1, 2)}
    return shown


def published(lab):
    return {number for n in lab.numbers for text in (n.published, n.published_zh) if text
            for number in NUMBER.findall(text)}


@pytest.mark.parametrize("lab", CATALOGUE, ids=lambda lab: lab.name)
def test_every_result_in_a_labs_text_was_recorded_or_published(lab):
    typed = sorted(set(PERCENT.findall(lesson_text(lab))) - recorded(lab) - published(lab))
    assert not typed, (f"labs/{lab.name}.py states {', '.join(p + '%' for p in typed)}: neither the course's "
                       f"published numbers (tools/published.py) nor its report run's (report/{lab.name}/"
                       f"results.json) hold them; point to the printed output or the report instead")
