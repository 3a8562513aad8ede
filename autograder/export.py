"""Gradebook -> grades.csv and grades_long.csv, for an LMS import.

Scores come from nbgrader's gradebook, so manual grades given in formgrader are
included; the status column comes from our per-submission results.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Iterable

from nbgrader.api import Gradebook, MissingEntry

from .course import COURSE_ID, ensure_alembic_on_path

SUMMARY_COLUMNS = ["student_id", "assignment", "score", "max_score", "status"]
LONG_COLUMNS = ["student_id", "assignment", "notebook", "grade_id", "score", "max_score"]


def _number(x: float | None) -> str:
    return f"{float(x or 0):g}"


def rows(db_url: str, results: Iterable[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    ensure_alembic_on_path()
    summary, long = [], []
    with Gradebook(db_url, COURSE_ID) as gb:
        for result in sorted(results, key=lambda r: (r["assignment"], r["student_id"])):
            student, assignment = result["student_id"], result["assignment"]
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
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
