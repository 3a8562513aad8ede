"""export.rows: Result records recorded in nbgrader's gradebook -> grades.csv and grades_long.csv rows.

The score is computed twice: once by the grader (Result.score, from the verdicts) and once by nbgrader
(SaveAutoGrades on the graded notebook, which export reads so that manual grades count). These tests
record real results through gradebook.record, as the grader's writer process does, and assert both equal.
"""
from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest

from autograder import export, gradebook, release, shared_gradebook
from autograder.model import Assignment, CellResult, Result, Roster, RosterStudent, Status
from autograder.plans import is_test_cell
from autograder.verdicts import verdict_outputs

ROOT = Path(__file__).resolve().parents[2]
NAME = "ex01_logistic_regression"
pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # as in gradebook.py


def graded(assignment: Assignment, student: str, passes: set[str] | None, status: Status = Status.GRADED,
           late: bool | None = None, display_name: str = "", answered: bool = True) -> Result:
    """A result as grade.finish builds it: every test cell judged (those in ``passes`` pass), its verdict
    shown in the notebook; ``passes=None``: nothing ran (grade.failed_result). ``answered``: the written
    answer was changed (nbgrader leaves an unchanged one at 0, not to be graded)."""
    points = assignment.points()
    tests = [c.metadata.nbgrader["grade_id"] for c in assignment.released.cells if is_test_cell(c)]
    if passes is None:
        cells = [CellResult.judged(gid, points[gid], False, ["why"], ["why"]) for gid in tests]
        return Result(student, NAME, f"key-{student}", status, "why", cells, None, late=late, display_name=display_name)
    nb = copy.deepcopy(assignment.released)
    for cell in nb.cells:
        if is_test_cell(cell):
            cell.outputs = verdict_outputs(cell.metadata.nbgrader["grade_id"] in passes, ["check 1: wrong"])
        elif answered and cell.metadata.get("nbgrader", {}).get("grade_id") == "observe_boundaries":
            cell.source = "The boundary is a straight line."
    cells = [CellResult.judged(gid, points[gid], gid in passes, [], []) for gid in tests]
    return Result(student, NAME, f"key-{student}", status, "", cells, nb, 1.0, 0.5, display_name, late)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Assignment, list[Result], Roster]:
    out = tmp_path_factory.mktemp("out")
    released = release.generate(ROOT, NAME, out / "release", db_path=out / "gradebook.db")
    source = nbformat.read(release.source_notebook(ROOT, NAME), as_version=4)
    assignment = Assignment(NAME, out, source, nbformat.read(released, as_version=4), {}, "digest")
    tests = [c.metadata.nbgrader["grade_id"] for c in assignment.released.cells if is_test_cell(c)]
    results = [graded(assignment, "ann", set(tests), late=True, display_name="Ann from the LMS"),
               graded(assignment, "bob", set(tests[::2]), answered=False),
               graded(assignment, "cat", None, Status.INVALID_JSON),
               graded(assignment, "eve", set(tests[1:3]), Status.WRONG_NAME, late=False),
               graded(assignment, "zed", set(tests[:1]))]
    gradebook.record(assignment, [r.to_dict() for r in results])
    shared_gradebook.close_all()
    roster = Roster(out / "roster.csv", "list", ["student_id", "name"], [],
                    [RosterStudent(s, n, i) for i, (s, n) in enumerate([("ann", "Ann A"), ("bob", ""), ("cat", ""),
                                                                        ("dan", "Dan D"), ("eve", "")])])
    return assignment, results, roster


def test_the_gradebooks_score_is_the_results_score(recorded: tuple[Assignment, list[Result], Roster]) -> None:
    assignment, results, _ = recorded
    summary, long = export.rows(assignment.db_url, results)
    by_student = {r["student_id"]: r for r in summary}
    assert {s: float(r["score"]) for s, r in by_student.items()} == {r.student_id: r.score for r in results}
    assert len({r.score for r in results}) == len(results)  # no two cases could pass for each other
    cells = {(r["student_id"], r["grade_id"]): float(r["score"]) for r in long}
    for result in results:
        for cell in result.cells:
            assert cells[(result.student_id, cell.grade_id)] == cell.score, (result.student_id, cell.grade_id)
    manual = {gid for (_, gid) in cells} - {c.grade_id for c in results[0].cells}
    assert manual == {"observe_boundaries"} and all(cells[(s, "observe_boundaries")] == 0 for s in by_student)
    assert {r["max_score"] for r in summary} == {"16"}


def test_statuses_names_and_late_marks(recorded: tuple[Assignment, list[Result], Roster]) -> None:
    assignment, results, _ = recorded
    summary, _ = export.rows(assignment.db_url, results)
    columns = ("status", "display_name", "late", "needs_manual_grading")
    assert {r["student_id"]: tuple(r[c] for c in columns) for r in summary} == {
        "ann": ("graded", "Ann from the LMS", "true", "1"), "bob": ("graded", "", "", "0"),
        "cat": ("invalid_json", "", "", "0"), "eve": ("wrong_name", "", "false", "1"), "zed": ("graded", "", "", "1")}


def test_a_roster_adds_the_absent_and_marks_the_unknown(recorded: tuple[Assignment, list[Result], Roster]) -> None:
    assignment, results, roster = recorded
    summary, _ = export.rows(assignment.db_url, results, roster)
    rows = {r["student_id"]: r for r in summary}
    assert [r["student_id"] for r in summary] == ["ann", "bob", "cat", "dan", "eve", "zed"]
    zed = next(r for r in results if r.student_id == "zed")
    assert (rows["zed"]["status"], float(rows["zed"]["score"])) == (Status.NOT_IN_ROSTER, zed.score) > ("", 0)
    assert {k: rows["dan"][k] for k in ("status", "score", "max_score", "display_name", "needs_manual_grading")} == {
        "status": "missing", "score": "0", "max_score": "16", "display_name": "Dan D", "needs_manual_grading": "0"}
    assert rows["ann"]["display_name"] == "Ann A"  # the roster's name wins over the download's


def test_a_late_penalty_scales_only_late_scores(recorded: tuple[Assignment, list[Result], Roster]) -> None:
    assignment, results, _ = recorded
    rows = {r["student_id"]: r for r in export.rows(assignment.db_url, results, late_penalty=0.25)[0]}
    assert (rows["ann"]["score"], rows["ann"]["late_penalty"]) == ("10.5", "0.25")
    assert all((rows[s]["score"], rows[s]["late_penalty"]) == (str(int(r.score)), "") for s, r in
               ((r.student_id, r) for r in results) if s != "ann")


def test_write_gives_the_two_csv_files(recorded: tuple[Assignment, list[Result], Roster], tmp_path: Path) -> None:
    assignment, results, _ = recorded
    (summary_path, long_path), summary = export.write(tmp_path, assignment.db_url, results)
    assert summary_path.read_text().splitlines()[0] == ",".join(export.SUMMARY_COLUMNS)
    assert long_path.read_text().splitlines()[0] == ",".join(export.LONG_COLUMNS)
    assert len(summary_path.read_text().splitlines()) == 1 + len(summary) == 1 + len(results)
