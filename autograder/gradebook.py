"""Results -> nbgrader's gradebook (one writer: the grading process) and formgrader's files.

Scores are written by nbgrader's own SaveAutoGrades (on shared_gradebook's open Gradebook)
from the graded notebook, so manual
grades given later in formgrader are kept and the gradebook means what nbgrader means.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from sqlalchemy.exc import SAWarning

from .shared_gradebook import SharedSaveAutoGrades, gradebook

# nbgrader's update_or_create_submission trips SQLAlchemy 2's autoflush warning; the rows are right.
warnings.filterwarnings("ignore", category=SAWarning, module=r"nbgrader\.api")

if TYPE_CHECKING:
    from .grade import Assignment


def autograded_path(out: Path, student_id: str, assignment: str) -> Path:
    """Where nbgrader's formgrader looks for the graded notebook."""
    return out / "autograded" / student_id / assignment / f"{assignment}.ipynb"


def record(assignment: "Assignment", results: Iterable[dict[str, Any]]) -> None:
    resources = {"db_url": assignment.db_url, "assignment": assignment.name, "notebook": assignment.name}
    gb = gradebook(assignment.db_url)
    for result in results:
        student = result["student_id"]
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(assignment.name, student)
        if result["notebook"] is None:  # nothing gradable: zero, as nbgrader does for a missing notebook
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
            gb.db.commit()
            continue
        nb = nbformat.from_dict(result["notebook"])
        SharedSaveAutoGrades().preprocess(nb, ResourcesDict(nbgrader={**resources, "student": student}))
        path = autograded_path(assignment.out, student, assignment.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        # nbformat.write validates again and indents with the pure-Python JSON encoder: a sixth of
        # this process's time. The file is the same notebook on one line, which nbformat reads.
        path.write_text(json.dumps(nb, sort_keys=True, ensure_ascii=False), encoding="utf-8")
