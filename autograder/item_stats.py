"""item_stats.csv: one row per graded cell, from the same rows as grades.csv and grades_long.csv (export.rows).

Which submissions count: those whose notebook ran to the end (a status that is not fatal: graded, wrong_name,
not_in_roster); a missing, unreadable or timed-out submission scores 0 everywhere and says nothing about a cell.
A written answer counts only once it is graded (formgrader, or nbgrader's 0 for an answer left as released).

- ``mean_points``: the mean of the cell's points; ``pass_rate``: the share with all of its points.
- ``discrimination``: the corrected item-total correlation, i.e. Pearson's r of the cell's points with the
  rest-score (the student's total over the assignment's other cells); for a cell scored all or nothing, as every
  autograded cell is, that is the point-biserial correlation. Empty when the cell's points or the rest-scores do
  not vary (r is undefined), or fewer than 3 submissions count.
"""
from __future__ import annotations

import csv
import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .model import Status

COLUMNS = ["assignment", "grade_id", "cell_type", "function", "max_points", "mean_points", "pass_rate",
           "discrimination", "n", "waiting"]


@dataclass
class Item:
    assignment: str
    grade_id: str
    cell_type: str  # public, hidden or written
    function: str  # the graded cell it tests ("" for a written answer)
    max_points: float
    mean_points: float | None
    pass_rate: float | None
    discrimination: float | None
    n: int
    waiting: int  # written answers still to grade

    def row(self) -> dict[str, str]:
        def num(x: float | None, digits: int = 4) -> str:
            return "" if x is None else f"{round(x, digits):g}"

        return {"assignment": self.assignment, "grade_id": self.grade_id, "cell_type": self.cell_type,
                "function": self.function, "max_points": num(self.max_points), "mean_points": num(self.mean_points),
                "pass_rate": num(self.pass_rate), "discrimination": num(self.discrimination), "n": str(self.n),
                "waiting": str(self.waiting)}


def pearson(x: list[float], y: list[float]) -> float | None:
    """Pearson's r; None where it is undefined (a constant variable) or fewer than 3 pairs."""
    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    mx, my = statistics.fmean(x), statistics.fmean(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy)


def counted(summary: Iterable[Mapping[str, str]]) -> set[tuple[str, str]]:
    """(assignment, student) of every submission that ran to the end."""
    return {(r["assignment"], r["student_id"]) for r in summary if not Status(r["status"]).fatal}


def items(summary: Iterable[Mapping[str, str]], long: Iterable[Mapping[str, str]],
          kinds: Mapping[tuple[str, str], tuple[str, str, int]],
          pending: set[tuple[str, str, str]] = frozenset()) -> list[Item]:
    """One Item per graded cell.

    ``summary``, ``long``: grades.csv's and grades_long.csv's rows; ``kinds``: (assignment, grade_id) -> (cell type,
    function, position in the notebook); ``pending``: (assignment, student, grade_id) of written answers not graded yet.
    """
    included = counted(summary)
    points: dict[tuple[str, str], dict[str, float]] = {}  # (assignment, student) -> grade_id -> points
    max_points: dict[tuple[str, str], float] = {}
    for r in long:
        key = (r["assignment"], r["student_id"])
        max_points[(r["assignment"], r["grade_id"])] = float(r["max_score"])
        if key in included:
            points.setdefault(key, {})[r["grade_id"]] = float(r["score"])
    found = []
    for (assignment, grade_id), top in sorted(max_points.items()):
        kind, function, _ = kinds.get((assignment, grade_id), ("written", "", 0))
        scores, rests, waiting = [], [], 0
        for (a, student), cells in sorted(points.items()):
            if a != assignment or grade_id not in cells:
                continue
            if (assignment, student, grade_id) in pending:
                waiting += 1
                continue
            scores.append(cells[grade_id])
            rests.append(sum(cells.values()) - cells[grade_id])
        mean = statistics.fmean(scores) if scores else None
        passed = sum(s >= top for s in scores) / len(scores) if scores else None
        found.append(Item(assignment, grade_id, kind, function, top, mean, passed, pearson(scores, rests),
                          len(scores), waiting))
    return sorted(found, key=lambda i: (i.assignment, kinds.get((i.assignment, i.grade_id), ("", "", 0))[2], i.grade_id))


def write_csv(path: Path, found: Iterable[Item]) -> Path:
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(i.row() for i in found)
    tmp.replace(path)
    return path
