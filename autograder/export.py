"""Gradebook -> grades.csv and grades_long.csv, for an LMS import.

Scores come from nbgrader's gradebook, so manual grades given in formgrader are
included; the status column comes from our per-submission results.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Iterable

from nbgrader.api import Assignment, Grade, Gradebook, SubmittedAssignment, SubmittedNotebook
from sqlalchemy.orm import joinedload, selectinload, undefer

from .course import COURSE_ID, ensure_alembic_on_path

SUMMARY_COLUMNS = ["student_id", "assignment", "score", "max_score", "status"]
LONG_COLUMNS = ["student_id", "assignment", "notebook", "grade_id", "score", "max_score"]


def _number(x: float | None) -> str:
    return f"{float(x or 0):g}"


def rows(db_url: str, results: Iterable[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """The CSV rows of every result that has a submission in the gradebook.

    The ORM would load each submission's notebooks, grades and cell names one query at a
    time; these load them for all students together (the scores are nbgrader's own
    column properties, so manual grades count exactly as in formgrader).
    """
    ensure_alembic_on_path()
    results = list(results)
    summary, long = [], []
    with Gradebook(db_url, COURSE_ID) as gb:
        loaded = (undefer(SubmittedAssignment.score), undefer(SubmittedAssignment.max_score),
                  selectinload(SubmittedAssignment.notebooks).options(
                      joinedload(SubmittedNotebook.notebook),
                      selectinload(SubmittedNotebook.grades).options(
                          joinedload(Grade.cell), undefer(Grade.score), undefer(Grade.max_score))))
        submissions: dict[tuple[str, str], SubmittedAssignment] = {}
        for assignment in {r["assignment"] for r in results}:
            query = (gb.db.query(SubmittedAssignment).join(Assignment)
                     .filter(Assignment.name == assignment).options(*loaded))
            submissions.update({(assignment, s.student_id): s for s in query})
        for result in sorted(results, key=lambda r: (r["assignment"], r["student_id"])):
            student, assignment = result["student_id"], result["assignment"]
            submission = submissions.get((assignment, student))
            if submission is None:
                continue
            summary.append({"student_id": student, "assignment": assignment, "score": _number(submission.score),
                            "max_score": _number(submission.max_score), "status": result["status"]})
            for notebook in sorted(submission.notebooks, key=lambda n: n.name):
                for grade in sorted(notebook.grades, key=lambda g: g.name):
                    long.append({"student_id": student, "assignment": assignment, "notebook": notebook.name,
                                 "grade_id": grade.name, "score": _number(grade.score),
                                 "max_score": _number(grade.max_score)})
    return summary, long


def write(out: Path, db_url: str, results: Iterable[dict[str, Any]]) -> tuple[Path, Path]:
    summary, long = rows(db_url, results)
    paths = out / "grades.csv", out / "grades_long.csv"
    for path, columns, data in ((paths[0], SUMMARY_COLUMNS, summary), (paths[1], LONG_COLUMNS, long)):
        tmp = path.with_suffix(".csv.tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(data)
        tmp.replace(path)
    return paths
