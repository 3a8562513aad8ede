"""Results -> nbgrader's gradebook (one writer: the grading process) and formgrader's files.

Scores are written by nbgrader's own SaveAutoGrades (on shared_gradebook's open Gradebook)
from the graded notebook, so manual grades given later in formgrader are kept and the
gradebook means what nbgrader means. A result recorded again unchanged (a rerun) also keeps
the "graded" state of what a grader reviewed. For formgrader each student gets their LMS name,
a submitted/ folder (what it counts) and autograded/<student>/<assignment>/<assignment>.ipynb,
redacted as the feedback is (no hidden tests or expected values, whatever later reads it), which
shows the grader the model answer and rubric after each written answer
(formgrader.rubric_cell; the feedback drops them) and carries the grader's notes for the
feedback (notebook metadata ``pdl``).
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from sqlalchemy.exc import SAWarning

from .feedback import redact
from .formgrader import rubric_cell, rubrics
from .model import Status
from .shared_gradebook import SharedSaveAutoGrades, gradebook

# nbgrader's update_or_create_submission trips SQLAlchemy 2's autoflush warning; the rows are right.
warnings.filterwarnings("ignore", category=SAWarning, module=r"nbgrader\.api")

if TYPE_CHECKING:
    from .model import Assignment


def autograded_path(out: Path, student_id: str, assignment: str) -> Path:
    """Where nbgrader's formgrader looks for the graded notebook."""
    return out / "autograded" / student_id / assignment / f"{assignment}.ipynb"


def names(display_name: str, student_id: str) -> dict[str, str]:
    """nbgrader's first and last name from the LMS's display name (formgrader shows "last, first")."""
    name = display_name.strip()
    if not name:
        return {"first_name": "", "last_name": student_id}
    if "," in name:  # "Doe, Jane"
        last, first = (part.strip() for part in name.split(",", 1))
        return {"first_name": first, "last_name": last}
    first, _, last = name.rpartition(" ")
    return {"first_name": first, "last_name": last} if first else {"first_name": "", "last_name": name}


_rubrics: dict[int, tuple[Any, dict[str, str]]] = {}


def _rubric_cells(assignment: "Assignment") -> dict[str, Any]:
    """grade_id -> the rubric cell to show after that written answer (computed once per assignment)."""
    key = id(assignment.source)
    if key not in _rubrics or _rubrics[key][0] is not assignment.source:
        points = assignment.points()
        _rubrics.clear()
        _rubrics[key] = (assignment.source, {gid: rubric_cell(gid, points.get(gid, 0.0), text)
                                             for gid, text in rubrics(assignment.source).items() if text})
    return _rubrics[key][1]


def zero_submission(gb: Any, submission: Any) -> None:
    """Nothing gradable: every cell zero and graded, as nbgrader does for a missing notebook."""
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            grade.auto_score = 0
            grade.needs_manual_grade = False
    gb.db.commit()


def record(assignment: "Assignment", results: Iterable[dict[str, Any]], unchanged: bool = False) -> None:
    """Record results; ``unchanged``: they were recorded before (a rerun), so reviewed grades stay reviewed."""
    resources = {"db_url": assignment.db_url, "assignment": assignment.name, "notebook": assignment.name,
                 "unchanged": unchanged}
    gb = gradebook(assignment.db_url)
    for result in results:
        student = result["student_id"]
        gb.update_or_create_student(student, **names(result.get("display_name") or "", student))
        submission = gb.update_or_create_submission(assignment.name, student)
        if result["status"] != Status.MISSING:  # formgrader counts these folders as its "# Submissions"
            (assignment.out / "submitted" / student / assignment.name).mkdir(parents=True, exist_ok=True)
        if result["notebook"] is None:
            zero_submission(gb, submission)
            continue
        nb = nbformat.from_dict(result["notebook"])
        SharedSaveAutoGrades().preprocess(nb, ResourcesDict(nbgrader={**resources, "student": student}))
        redact(nb)  # scores are saved: formgrader's copy shows what the student sees (no hidden tests)
        extra = _rubric_cells(assignment)
        cells = []
        for cell in nb.cells:
            cells.append(cell)
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if gid in extra:
                cells.append(extra[gid])
        nb = nbformat.NotebookNode({**nb, "cells": cells, "metadata": {
            **nb.metadata, "pdl": {"status": result["status"], "message": result["message"]}}})
        path = autograded_path(assignment.out, student, assignment.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        # nbformat.write validates again and indents with the pure-Python JSON encoder: a sixth of
        # this process's time. The file is the same notebook on one line, which nbformat reads.
        path.write_text(json.dumps(nb, sort_keys=True, ensure_ascii=False), encoding="utf-8")
