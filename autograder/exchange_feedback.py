"""pdl-grade's redacted feedback pages where ``nbgrader release_feedback`` finds them in a hub course.

nbgrader releases ``feedback/<student>/<assignment>/<notebook>.html`` under the name
``notebook_hash(submission_secret, notebook)`` and reads ``timestamp.txt`` and
``submission_secret.txt`` beside it; a student's ``nbgrader fetch_feedback`` computes the same
name from the secret of its own submission. So each page goes there with the two files that
``nbgrader collect`` put in ``submitted/<student>/<assignment>/``. A submission without a secret
(not submitted through the exchange) gets no page there: release_feedback would stop at it.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .hub_course import HubCourse

RECEIPTS = ("timestamp.txt", "submission_secret.txt")


@dataclass
class Released:
    written: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # students whose submission has no secret


def notebook_names(submitted: Path, assignment: str) -> list[str]:
    """The names the student's own fetch_feedback looks for: the notebooks it submitted (else the assignment's)."""
    names = sorted(p.stem for p in submitted.glob("*.ipynb"))
    return [assignment] if assignment in names or not names else names


def place(course: HubCourse, assignment: str, student: str, page: Path, found: Released) -> None:
    """Copy one rendered page into DIR/feedback/<student>/<assignment>/ with its submission's receipts."""
    submitted = course.path("submitted", student, assignment)
    if not all((submitted / name).is_file() for name in RECEIPTS):
        found.skipped.append(student)
        return
    target = course.path("feedback", student, assignment)
    target.mkdir(parents=True, exist_ok=True)
    for name in RECEIPTS:
        shutil.copyfile(submitted / name, target / name)
    for name in notebook_names(submitted, assignment):
        shutil.copyfile(page, target / f"{name}.html")
        found.written.append(target / f"{name}.html")
