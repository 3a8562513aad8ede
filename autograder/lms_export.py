"""grades.csv -> the file the LMS imports as it is: the roster it exported, one column filled.

- Canvas: the gradebook export (Grades -> Export), this assignment's column filled with the total
  score; import it with Grades -> Import. The column is the one whose header starts with the
  assignment's name ("ex01_logistic_regression (123456)") or the one named by ``--lms-column``.
- Moodle: the grading worksheet (Assignment -> View all submissions -> Download grading worksheet),
  ``Grade`` filled; upload it with "Upload grading worksheet".

Every other cell, row and column is written back as read. A roster student without a submission
keeps an empty grade (0 with ``missing_as_zero``).
"""
from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from pathlib import Path

from .model import Roster, Status

LMS_KINDS = ("canvas", "moodle")
CANVAS_FIXED = 5  # Student, ID, SIS User ID, SIS Login ID, Section; then the assignment columns


class LmsError(RuntimeError):
    """An LMS file that cannot be written from this roster (an instructor error)."""


def _canvas_column(roster: Roster, assignment: str, column: str | None) -> int:
    candidates = roster.header[CANVAS_FIXED:]
    shown = ", ".join(repr(h) for h in candidates[:6]) + (", ..." if len(candidates) > 6 else "")
    if column is not None:
        names = [h.strip() for h in roster.header]
        if column.strip() in names:
            return names.index(column.strip())
        raise LmsError(f"the Canvas gradebook {roster.path} has no column {column!r} (its columns after Section: "
                       f"{shown or 'none'})")
    found = [i for i, h in enumerate(roster.header) if i >= CANVAS_FIXED and h.strip().startswith(assignment)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise LmsError(f"the Canvas gradebook {roster.path} has no column whose header starts with {assignment!r} "
                       f"(its columns after Section: {shown or 'none'}); name it with --lms-column")
    raise LmsError(f"the Canvas gradebook {roster.path} has several columns for {assignment!r} "
                   f"({', '.join(repr(roster.header[i]) for i in found)}); name one with --lms-column")


def _points_possible(roster: Roster, col: int) -> str:
    for row in roster.rows:
        if row and row[0].strip().lower() == "points possible" and col < len(row):
            return row[col].strip()
    return ""


def check(kind: str, roster: Roster, assignment: str, column: str | None = None) -> None:
    """Raise LmsError now, before grading, if the LMS file could not be written from this roster."""
    _target(kind, roster, assignment, column)


def _target(kind: str, roster: Roster, assignment: str, column: str | None) -> int:
    """The roster column this assignment's grade goes into."""
    if kind not in LMS_KINDS:
        raise LmsError(f"--lms {kind!r} is not supported (choose from {', '.join(LMS_KINDS)})")
    if roster.kind != kind:
        expected = {"canvas": "a Canvas gradebook export (Grades -> Export)",
                    "moodle": "a Moodle grading worksheet (Download grading worksheet)"}[kind]
        raise LmsError(f"--lms {kind} needs {expected} as --roster; {roster.path} is a {roster.label}")
    if kind == "canvas":
        return _canvas_column(roster, assignment, column)
    names = [h.strip().lower() for h in roster.header]
    if column is not None and column.strip().lower() not in names:
        raise LmsError(f"the Moodle worksheet {roster.path} has no column {column!r}")
    if (column or "grade").strip().lower() not in names:
        raise LmsError(f"the Moodle worksheet {roster.path} has no Grade column")
    return names.index((column or "grade").strip().lower())


def write(kind: str, roster: Roster, summary: Iterable[dict[str, str]], assignment: str, out: Path,
          column: str | None = None, missing_as_zero: bool = False) -> tuple[Path, list[str]]:
    """Write ``out/grades_<kind>.csv``; return its path and warnings worth showing."""
    col = _target(kind, roster, assignment, column)
    rows = {r["student_id"]: r for r in summary if r["assignment"] == assignment}
    warnings: list[str] = []
    if kind == "canvas":
        fmt = "{:g}"
        possible = _points_possible(roster, col)
    else:
        fmt = "{:.2f}"  # as Moodle writes its own worksheet
        names = [h.strip().lower() for h in roster.header]
        maximum = names.index("maximum grade") if "maximum grade" in names else None
        first = roster.rows[roster.students[0].row]
        possible = first[maximum].strip() if maximum is not None and maximum < len(first) else ""
    ours = {r["max_score"] for r in rows.values() if r.get("max_score")}
    try:
        if possible and ours and float(possible) != float(next(iter(ours))):
            warnings.append(f"the LMS gives {assignment} {possible} points and pdl-grade {next(iter(ours))}: "
                            f"scores are written as pdl-grade's points; set the LMS's maximum to match")
    except ValueError:
        pass
    table = [list(r) for r in roster.rows]
    filled = 0
    for student in roster.students:
        row = table[student.row]
        row.extend([""] * (col + 1 - len(row)))
        result = rows.get(student.student_id)
        if result is None or result["status"] == Status.MISSING:
            row[col] = fmt.format(0) if missing_as_zero else ""
            continue
        row[col] = fmt.format(float(result["score"]))
        filled += 1
    dest = out / f"grades_{kind}.csv"
    tmp = dest.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8-sig" if roster.bom else "utf-8") as handle:
        writer = csv.writer(handle, lineterminator=roster.newline)
        writer.writerow(roster.header)
        writer.writerows(table)
    os.replace(tmp, dest)
    return dest, warnings
