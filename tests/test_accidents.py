"""Issue 15, item 7: honest accidents cost no points; forgeries gain nothing and are reported.

A correct ex01 notebook, damaged as students damage it (a duplicated test cell, a duplicated
solution cell, a solution cell copied as scratch, an editor that drops all cell metadata), is
graded through the real `pdl-grade` at full marks, with each repair named in its feedback.
Three forgeries (an extra graded cell, inflated points, a renamed test id) score what the
honest notebook scores, never more, and are reported.
"""
from __future__ import annotations

import copy
import html
import re

import pytest
from conftest import cell_by_id, pdl_grade, read_csv, scores, solved_student_version, write_class
from nbformat.v4 import new_code_cell


NAME = "ex01_logistic_regression"
AUTOGRADED = 14.0


def _index(nb, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _copy(cell, new_id: str):
    twin = copy.deepcopy(cell)
    twin.id = new_id  # Jupyter gives a pasted cell a new id
    return twin


@pytest.fixture(scope="module")
def solved():
    """The student version, every answer filled in from the solution."""
    return solved_student_version(NAME)


def _accidents(solved) -> dict:
    out = {}
    nb = copy.deepcopy(solved)
    i = _index(nb, "test_sigmoid")
    nb.cells.insert(i + 1, _copy(nb.cells[i], "pasted-test"))
    out["dup_test"] = nb
    nb = copy.deepcopy(solved)
    i = _index(nb, "sigmoid")
    nb.cells.insert(i + 1, _copy(nb.cells[i], "pasted-solution"))
    out["dup_solution"] = nb
    nb = copy.deepcopy(solved)
    scratch = _copy(nb.cells[_index(nb, "logit")], "scratch")
    scratch.source = "print(logit(0.3), sigmoid(logit(0.3)))  # trying things out"
    nb.cells.append(scratch)
    out["scratch"] = nb
    nb = copy.deepcopy(solved)
    for cell in nb.cells:
        cell.metadata = {}  # what some editors write back
    out["no_metadata"] = nb
    return out


def _forgeries(solved) -> dict:
    out = {}
    nb = copy.deepcopy(solved)
    bonus = new_code_cell("print('bonus points')")
    bonus.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": False, "task": False,
                                  "grade_id": "bonus", "points": 100, "schema_version": 3}
    nb.cells.append(bonus)
    out["forge_extra_cell"] = nb
    nb = copy.deepcopy(solved)
    cell_by_id(nb, "test_sigmoid").metadata.nbgrader["points"] = 50
    out["forge_points"] = nb
    nb = copy.deepcopy(solved)
    cell = cell_by_id(nb, "test_sigmoid_hidden")
    cell.metadata.nbgrader["grade_id"] = "test_sigmoid_hidden_v2"
    cell.source = "print('all good')"
    out["forge_renamed"] = nb
    return out


@pytest.fixture(scope="module")
def graded(tmp_path_factory, solved):
    notebooks = {"honest": solved, **_accidents(solved), **_forgeries(solved)}
    unrelated = copy.deepcopy(solved)
    unrelated.cells = [new_code_cell("print('my own project')"), new_code_cell("x = 1")]
    notebooks["unrelated"] = unrelated
    folder = write_class(tmp_path_factory.mktemp("class"), NAME, notebooks)
    out = tmp_path_factory.mktemp("out")
    pdl_grade("grade", NAME, str(folder), "--out", str(out))
    return out


def _feedback(out, student: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", (out / "feedback" / student / f"{NAME}.html").read_text()))


@pytest.mark.parametrize("student, repair", [
    ("dup_test", "a copy of the locked cell test_sigmoid was removed"),
    ("dup_solution", "cell sigmoid appears more than once: the first is graded"),
    ("scratch", "cell logit appears more than once: the first is graded"),
    ("no_metadata", "the notebook had lost its grading information"),
])
def test_an_accident_costs_no_points_and_is_explained(graded, student, repair):
    assert scores(graded)["honest"][0] == AUTOGRADED
    score, _, status = scores(graded)[student]
    assert (score, status) == (AUTOGRADED, "graded")
    assert repair in _feedback(graded, student)


def test_the_honest_notebook_needs_no_repair(graded):
    assert "Grader notes" not in _feedback(graded, "honest")


@pytest.mark.parametrize("student, report", [
    ("forge_extra_cell", "cell bonus claims to be graded (grade, 100 points) but is not part of the assignment"),
    ("forge_points", "cell test_sigmoid claimed other grading settings (grade/locked, 50 points)"),
    ("forge_renamed", "cell test_sigmoid_hidden was missing and has been put back"),
])
def test_a_forgery_gains_nothing_and_is_reported(graded, student, report):
    score, max_score, _ = scores(graded)[student]
    assert score <= AUTOGRADED and max_score == scores(graded)["honest"][1]
    assert report in _feedback(graded, student)
    long = {r["grade_id"] for r in read_csv(graded / "grades_long.csv") if r["student_id"] == student}
    assert "bonus" not in long and "test_sigmoid_hidden_v2" not in long


def test_an_unrelated_notebook_is_invalid_with_a_plain_message(graded):
    score, _, status = scores(graded)["unrelated"]
    assert (score, status) == (0.0, "invalid_notebook")
    text = _feedback(graded, "unrelated")
    assert "could not be matched to the assignment" in text and "grade_id" not in text
