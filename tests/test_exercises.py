"""Issue 4's validation, per assignment, through the real pdl-grade: one batch per assignment.

The instructor solution scores every autograded point; the unmodified student version
scores 0; each typical wrong answer loses exactly the test cells it names; differently
written correct answers get full marks.
"""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from conftest import (ROOT, cell_scores, pdl_grade, read_nb, scores, solution_path, solved_student_version,
                      write_class)
from nbgrader import utils

from autograder.plans import is_test_cell

ASSIGNMENTS = sorted(p.stem for p in (ROOT / "tests" / "cases").glob("ex*.py")
                     if solution_path(p.stem).is_file())


def cases(name: str):
    return importlib.import_module(f"cases.{name}")


def autograded_points(name: str) -> dict[str, float]:
    return {c.metadata.nbgrader["grade_id"]: float(c.metadata.nbgrader["points"])
            for c in read_nb(solution_path(name)).cells if is_test_cell(c)}


def manual_points(name: str) -> float:
    return sum(float(c.metadata.nbgrader["points"]) for c in read_nb(solution_path(name)).cells
               if utils.is_grade(c) and utils.is_solution(c))


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory) -> tuple[str, Path]:
    name = request.param
    module = cases(name)
    notebooks = {"solution": solved_student_version(name), "blank": read_nb(ROOT / "exercises" / name / f"{name}.ipynb")}
    for case in module.MISTAKES + module.CORRECT:
        notebooks[case.label] = solved_student_version(name, case.answers)
    folder = write_class(tmp_path_factory.mktemp(f"{name}-class"), name, notebooks)
    out = tmp_path_factory.mktemp(f"{name}-out")
    pdl_grade("grade", name, str(folder), "--out", str(out), "--workers", "2")
    return name, out


def test_solution_gets_every_autograded_point(graded):
    name, out = graded
    score, max_score, status = scores(out)["solution"]
    assert status == "graded"
    assert max_score == sum(autograded_points(name).values()) + manual_points(name)
    assert score == sum(autograded_points(name).values())  # written answers wait for manual grading
    assert all(cell_scores(out, "solution")[g] == p for g, p in autograded_points(name).items())


def test_unmodified_student_version_scores_zero(graded):
    _, out = graded
    assert scores(out)["blank"][0] == 0


def test_typical_mistakes_lose_exactly_their_tests(graded):
    name, out = graded
    points = autograded_points(name)
    for case in cases(name).MISTAKES:
        got = cell_scores(out, case.label)
        lost = {g for g, p in points.items() if got[g] != p}
        assert lost == set(case.lost), f"{case.label}: lost {sorted(lost)}, expected {sorted(case.lost)}"
        assert all(got[g] == 0 for g in lost)


def test_each_graded_function_has_two_typical_mistakes(graded):
    name, _ = graded
    # graded functions: solution cells whose test cells exist (names may end in "_hidden" themselves)
    ids = [c.metadata.nbgrader["grade_id"] for c in read_nb(solution_path(name)).cells if "nbgrader" in c.metadata]
    functions = {g for g in ids if f"test_{g}" in autograded_points(name)}
    assert functions, f"{name}: no graded functions found"
    for function in functions:
        own = [c for c in cases(name).MISTAKES
               if function in c.answers and {f"test_{function}", f"test_{function}_hidden"} & c.lost]
        assert len(own) >= 2, f"{name}: {function} needs at least two typical wrong answers"


def test_correct_variants_get_full_marks(graded):
    name, out = graded
    for case in cases(name).CORRECT:
        assert scores(out)[case.label][0] == sum(autograded_points(name).values()), case.label


def test_only_student_versions_are_published():
    """exercises/ holds no solutions or hidden tests."""
    for name in ASSIGNMENTS:
        text = (ROOT / "exercises" / name / f"{name}.ipynb").read_text()
        assert "### BEGIN SOLUTION" not in text and "### BEGIN HIDDEN TESTS" not in text
