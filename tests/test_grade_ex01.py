"""Issue 2's end-to-end grade: three real submissions through `pdl-grade grade`, scores exact."""
from __future__ import annotations

import json
import re

import pytest
from conftest import (cell_scores, exercise_path, pdl_grade, read_csv, read_nb, scores,
                      solved_student_version, write_class)
from nbformat.v4 import new_code_cell
from nbformat.validator import isvalid
from nbgrader.api import Gradebook

from autograder.model import Status
from autograder.results import latest

NAME = "ex01_logistic_regression"


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    mistake = solved_student_version(NAME, {"sigmoid": "def sigmoid(z):\n    return 1 / (1 + np.exp(z))\n"})
    mistake.cells.insert(1, new_code_cell("import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.show()"))
    folder = write_class(tmp_path_factory.mktemp("class"), NAME, {
        "ada": solved_student_version(NAME), "bo": read_nb(exercise_path(NAME)), "cy": mistake})
    out = tmp_path_factory.mktemp("out")
    pdl_grade("grade", NAME, str(folder), "--out", str(out))
    (out / "class-folder.txt").write_text(str(folder))  # for the rerun test
    return out


def test_three_submissions_score_exactly(out):
    assert scores(out) == {
        "ada": (14.0, 16.0, "graded"),  # all 14 autograded points; the 2-point written answer awaits a grader
        "bo": (0.0, 16.0, "graded"),
        "cy": (9.0, 16.0, "graded"),  # sigmoid's 3 points and predict_prob's 2 (it calls sigmoid) lost
    }
    assert cell_scores(out, "cy")["test_sigmoid"] == 0 and cell_scores(out, "cy")["test_logit"] == 1


def test_csv_columns(out):
    assert list(read_csv(out / "grades.csv")[0]) == ["student_id", "display_name", "assignment", "score", "max_score",
                                                     "status", "late", "late_penalty", "needs_manual_grading"]
    assert list(read_csv(out / "grades_long.csv")[0]) == [
        "student_id", "assignment", "notebook", "grade_id", "score", "max_score"]
    assert len(read_csv(out / "grades_long.csv")) == 3 * 13  # 12 test cells and 1 written answer each


def test_the_stored_results_score_as_the_gradebook_does(out):
    """The grader's score (Result, from the verdicts) and nbgrader's (the gradebook, read by export) agree cell by cell."""
    results = latest(out / "results")
    assert sorted(r.student_id for r in results) == ["ada", "bo", "cy"]
    assert all(r.status is Status.GRADED for r in results)
    long = {(r["student_id"], r["grade_id"]): float(r["score"]) for r in read_csv(out / "grades_long.csv")}
    for result in results:
        assert {c.grade_id: c.score for c in result.cells} == \
            {gid: score for (student, gid), score in long.items() if student == result.student_id and
             gid != "observe_boundaries"}  # the written answer: manual, not in the result
        assert result.score == scores(out)[result.student_id][0]


def test_gradebook_is_nbgraders_and_manual_grades_reach_the_csv(out):
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        assert gb.find_submission(NAME, "ada").score == 14
        grade = gb.find_grade("observe_boundaries", NAME, NAME, "ada")
        assert grade.needs_manual_grade
        grade.manual_score = 2
        gb.db.commit()
    pdl_grade("export", "--out", str(out))
    assert scores(out)["ada"] == (16.0, 16.0, "graded")
    assert (out / "autograded" / "ada" / NAME / f"{NAME}.ipynb").is_file()  # what formgrader opens


def test_feedback_has_no_hidden_tests(out):
    for student in ("ada", "bo", "cy"):
        html = (out / "feedback" / student / f"{NAME}.html").read_text()
        assert "hidden tests: their source is not shown" in html
        assert "BEGIN HIDDEN TESTS" not in html and "expit(grid)" not in html and "1e4" not in html
    cy = (out / "feedback" / "cy" / f"{NAME}.html").read_text()
    assert "value is not close to the expected one" in cy
    assert re.search(r"Score:\s*9(\.0)?\s*/\s*16", cy), "the score from the gradebook is shown"
    images = re.findall(r"<img [^>]*>", cy)
    assert images and all(" alt=" in tag for tag in images), images  # the plot, with alt text


def test_graded_notebooks_are_valid(out):
    """The feedback renders the graded notebook without validating it again (feedback.py): it must be valid."""
    for student in ("ada", "bo", "cy"):
        nb = json.loads((out / "autograded" / student / NAME / f"{NAME}.ipynb").read_text())
        assert isvalid(nb)  # as written: reading with nbformat would repair cell ids first
        assert any(cell.get("outputs") for cell in nb["cells"])


def test_rerun_reuses_results_and_gives_the_same_csv(out, tmp_path):
    before = (out / "grades.csv").read_text()
    folder = (out / "class-folder.txt").read_text()
    proc = pdl_grade("grade", NAME, folder, "--out", str(out))
    assert re.search(r"graded now / reused\W+0 / 3\b", proc.stderr), proc.stderr[-2000:]
    assert (out / "grades.csv").read_text() == before
