"""Gradebook -> grades.csv and grades_long.csv (lms_export.py turns them into the LMS's own import file).

Scores come from nbgrader's gradebook, so manual grades given in formgrader are
included; the status, display name and late mark come from our per-submission results.
``needs_manual_grading`` counts the written answers nbgrader still marks as needing a
grade: until it is 0, a student's score is not final. With a roster, every roster student
has a row (``missing`` when nothing was submitted) and a submission from someone not on it
is marked ``not_in_roster``. A late penalty, only when asked for, scales a late score and
is stated in ``late_penalty``.
"""
from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from nbgrader.api import (
    Assignment,
    Grade,
    Gradebook,
    SubmittedAssignment,
    SubmittedNotebook,
)
from sqlalchemy.orm import joinedload, selectinload, undefer

from .course import course_id, ensure_alembic_on_path
from .model import Result, Roster, Status

SUMMARY_COLUMNS = ["student_id", "display_name", "assignment", "score", "max_score", "status", "late",
                   "late_penalty", "needs_manual_grading"]
LONG_COLUMNS = ["student_id", "assignment", "notebook", "grade_id", "score", "max_score"]


def _number(x: float | None) -> str:
    return f"{float(x or 0):g}"


def _late(value: bool | None) -> str:
    return "" if value is None else str(bool(value)).lower()


def rows(db_url: str, results: Iterable[Result], roster: Roster | None = None,
         late_penalty: float | None = None) -> tuple[list[dict], list[dict]]:
    """The CSV rows of every result that has a submission in the gradebook.

    The ORM would load each submission's notebooks, grades and cell names one query at a
    time; these load them for all students together (the scores are nbgrader's own
    column properties, so manual grades count exactly as in formgrader).
    """
    ensure_alembic_on_path()
    results = list(results)
    summary, long = [], []
    with Gradebook(db_url, course_id()) as gb:
        loaded = (undefer(SubmittedAssignment.score), undefer(SubmittedAssignment.max_score),
                  selectinload(SubmittedAssignment.notebooks).options(
                      joinedload(SubmittedNotebook.notebook),
                      selectinload(SubmittedNotebook.grades).options(
                          joinedload(Grade.cell), undefer(Grade.score), undefer(Grade.max_score))))
        submissions: dict[tuple[str, str], SubmittedAssignment] = {}
        max_scores: dict[str, float] = {}
        for assignment in {r.assignment for r in results}:
            query = (gb.db.query(SubmittedAssignment).join(Assignment)
                     .filter(Assignment.name == assignment).options(*loaded))
            submissions.update({(assignment, s.student_id): s for s in query})
            max_scores[assignment] = gb.find_assignment(assignment).max_score
        on_roster = {s.student_id: s for s in roster.students} if roster else {}
        for result in sorted(results, key=lambda r: (r.assignment, r.student_id)):
            student, assignment = result.student_id, result.assignment
            submission = submissions.get((assignment, student))
            if submission is None:
                continue
            score, penalty = float(submission.score or 0), ""
            if late_penalty and result.late:
                score, penalty = score * (1 - late_penalty), f"{late_penalty:g}"
            status = Status.NOT_IN_ROSTER if roster is not None and student not in on_roster else result.status
            display = (on_roster[student].display_name if student in on_roster else "") or result.display_name
            summary.append({"student_id": student, "display_name": display, "assignment": assignment,
                            "score": _number(score), "max_score": _number(submission.max_score), "status": status.value,
                            "late": _late(result.late), "late_penalty": penalty,
                            "needs_manual_grading": str(sum(bool(g.needs_manual_grade) for n in submission.notebooks
                                                            for g in n.grades))})
            for notebook in sorted(submission.notebooks, key=lambda n: n.name):
                for grade in sorted(notebook.grades, key=lambda g: g.name):
                    long.append({"student_id": student, "assignment": assignment, "notebook": notebook.name,
                                 "grade_id": grade.name, "score": _number(grade.score),
                                 "max_score": _number(grade.max_score)})
        for assignment in sorted(max_scores):  # roster students with no row of their own
            listed = {r["student_id"] for r in summary if r["assignment"] == assignment}
            for student in on_roster.values():
                if student.student_id not in listed:
                    summary.append({"student_id": student.student_id, "display_name": student.display_name,
                                    "assignment": assignment, "score": "0", "max_score": _number(max_scores[assignment]),
                                    "status": Status.MISSING.value, "late": "", "late_penalty": "",
                                    "needs_manual_grading": "0"})
    summary.sort(key=lambda r: (r["assignment"], r["student_id"]))
    return summary, long


def write(out: Path, db_url: str, results: Iterable[Result], roster: Roster | None = None,
          late_penalty: float | None = None) -> tuple[tuple[Path, Path], list[dict]]:
    """Write grades.csv and grades_long.csv; return their paths and grades.csv's rows."""
    summary, long = rows(db_url, results, roster, late_penalty)
    paths = out / "grades.csv", out / "grades_long.csv"
    for path, columns, data in ((paths[0], SUMMARY_COLUMNS, summary), (paths[1], LONG_COLUMNS, long)):
        tmp = path.with_suffix(".csv.tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(data)
        tmp.replace(path)
    return paths, summary
