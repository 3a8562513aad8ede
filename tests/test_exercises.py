"""Issue 4's validation, per assignment, through the real pdl-grade: one batch per assignment.

The instructor solution scores every autograded point; the unmodified student version
scores 0; each typical wrong answer loses exactly the test cells it names (a constant answer
among them, for every graded function: issue 14); differently written correct answers get full
marks. Issue 13: the first code cell installs the course package where it is missing and does
nothing where it is present.
"""
from __future__ import annotations

import importlib
import importlib.util
import re
import subprocess
from pathlib import Path

import pytest
from conftest import (ROOT, cell_scores, pdl_grade, read_nb, scores, solution_path, solved_student_version,
                      write_class)
from nbgrader import utils

from autograder.plans import is_test_cell

# The first code cell of every exercise (issue 13): Colab or a fresh Jupyter gets the course package; the grading
# sandbox (no network) already has it, so the cell does nothing there.
INSTALL_SOURCE = """\
# Setup: installs the course package when it is missing (Colab, a fresh Jupyter); does nothing otherwise.
import importlib.util, subprocess, sys
if importlib.util.find_spec("pdl") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "pdl-course @ git+https://github.com/pdl-course/pdl-lecture1"], check=True)"""
INSTALL_NBGRADER = {"grade": False, "grade_id": "install", "locked": True, "schema_version": 3, "solution": False,
                    "task": False}
# A written answer's solution region: the model answer, then the rubric that formgrader shows to the grader.
WRITTEN = re.compile(r"### BEGIN SOLUTION\n\*\*Model answer\.\*\* \S.*\n"
                     r"\*\*Rubric \((\d+) points?\)\.\*\* (\d+ points?: [^\n]+)\n### END SOLUTION", re.S)

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


def graded_functions(name: str) -> set[str]:
    """Solution cells that have test cells (their names may end in "_hidden" themselves)."""
    ids = [c.metadata.nbgrader["grade_id"] for c in read_nb(solution_path(name)).cells if "nbgrader" in c.metadata]
    return {g for g in ids if f"test_{g}" in autograded_points(name)}


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
    functions = graded_functions(name)
    assert functions, f"{name}: no graded functions found"
    for function in functions:
        own = [c for c in cases(name).MISTAKES
               if function in c.answers and {f"test_{function}", f"test_{function}_hidden"} & c.lost]
        assert len(own) >= 2, f"{name}: {function} needs at least two typical wrong answers"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_a_constant_answer_earns_nothing(name):
    """Every graded function has a constant answer among the mistakes, and it loses the public and the hidden test.

    test_typical_mistakes_lose_exactly_their_tests grades it; this says that it is there.
    """
    labels = {c.label: c for c in cases(name).MISTAKES}
    for function in graded_functions(name):
        case = labels.get(f"{function}_constant")
        assert case is not None, f"{name}: no constant answer for {function} (a MISTAKES case labelled {function}_constant)"
        assert function in case.answers and {f"test_{function}", f"test_{function}_hidden"} <= case.lost, case.label


def test_correct_variants_get_full_marks(graded):
    name, out = graded
    for case in cases(name).CORRECT:
        assert scores(out)[case.label][0] == sum(autograded_points(name).values()), case.label


def test_the_install_cell_does_nothing_in_the_grading_run(graded):
    """The sandbox has no network: a pip run there would fail in the install cell. It must not run at all."""
    name, out = graded
    nb = read_nb(out / "autograded" / "solution" / name / f"{name}.ipynb")
    install = next(c for c in nb.cells if c.cell_type == "code")
    assert install.source == INSTALL_SOURCE
    assert install.outputs == [], install.outputs


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_first_code_cell_installs_the_course_package(name):
    for path in (solution_path(name), ROOT / "exercises" / name / f"{name}.ipynb"):
        first = next(c for c in read_nb(path).cells if c.cell_type == "code")
        assert first.source == INSTALL_SOURCE, f"{path.relative_to(ROOT)}: the first code cell is not the install cell"
        nbgrader = first.metadata.get("nbgrader", {})  # nbgrader adds cell_type and checksum on release
        assert {k: nbgrader.get(k) for k in INSTALL_NBGRADER} == INSTALL_NBGRADER, (
            f"{path.relative_to(ROOT)}: the install cell is not the locked cell 'install'")


def run_install_cell(monkeypatch, pdl_present: bool) -> list[list[str]]:
    """Run the install cell's source here, with pip replaced by a recorder; return the commands it ran."""
    calls: list[list[str]] = []
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: (real_find_spec(name, *a) if pdl_present or name != "pdl" else None))
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kwargs: calls.append(cmd) or subprocess.CompletedProcess(cmd, 0))
    exec(compile(INSTALL_SOURCE, "<install cell>", "exec"), {})  # noqa: S102 (the notebooks' own install cell)
    return calls


def test_install_cell_installs_only_where_pdl_is_missing(monkeypatch):
    assert run_install_cell(monkeypatch, pdl_present=True) == []
    [command] = run_install_cell(monkeypatch, pdl_present=False)
    assert command[1:] == ["-m", "pip", "install", "-q", "pdl-course @ git+https://github.com/pdl-course/pdl-lecture1"]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_written_answers_have_a_model_answer_and_a_rubric(name):
    """Each manually graded cell: model answer and rubric inside the solution region (formgrader shows it; students do not)."""
    written = [c for c in read_nb(solution_path(name)).cells if utils.is_grade(c) and utils.is_solution(c)]
    assert written, f"{name}: no written answer"
    for cell in written:
        grade_id, points = cell.metadata.nbgrader["grade_id"], float(cell.metadata.nbgrader["points"])
        match = WRITTEN.fullmatch(cell.source.strip())
        assert match, f"{name}/{grade_id}: not '### BEGIN SOLUTION / **Model answer.** / **Rubric (N points).** / ### END SOLUTION'"
        items = [int(n) for n in re.findall(r"(?:^|; )(\d+) points?:", match.group(2))]
        assert float(match.group(1)) == points == sum(items), f"{name}/{grade_id}: rubric points {items} vs {points}"
    student = (ROOT / "exercises" / name / f"{name}.ipynb").read_text()
    assert "**Model answer.**" not in student and "**Rubric" not in student


def test_only_student_versions_are_published():
    """exercises/ holds no solutions or hidden tests."""
    for name in ASSIGNMENTS:
        text = (ROOT / "exercises" / name / f"{name}.ipynb").read_text()
        assert "### BEGIN SOLUTION" not in text and "### BEGIN HIDDEN TESTS" not in text
