"""The anchor: the class graded with ``nbgrader autograde``, set up as an instructor would.

A course folder with ``nbgrader_config.py``, ``source/<assignment>/``, the student
version made by ``nbgrader generate_assignment`` and the class in
``submitted/<student>/<assignment>/``; then one ``nbgrader autograde <assignment>``
for the whole class, timed, and the scores read back from its gradebook.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from .timing import compute_seconds

BIN = Path(sys.executable).parent
CONFIG = """\
c = get_config()
c.CourseDirectory.course_id = "pdl-bench"
c.CourseDirectory.db_url = "sqlite:///{db}"
c.Exchange.root = "{exchange}"
# nbgrader's defaults otherwise: ExecutePreprocessor timeout 30 s, one notebook at a time.
"""


@dataclass
class AnchorRun:
    wall_seconds: float
    returncode: int
    scores: dict[str, dict[str, float]]  # student -> grade_id -> score (0 where nbgrader has none)
    processed: set[str]  # students whose notebook nbgrader executed and graded
    compute_seconds: dict[str, float] = field(default_factory=dict)  # from the autograded notebooks
    log: str = ""


def env() -> dict[str, str]:
    """nbgrader shells out to alembic (the venv's bin on PATH); kernels need the course's settings."""
    e = dict(os.environ)
    e["PATH"] = f"{BIN}{os.pathsep}{e.get('PATH', '')}"
    e.setdefault("KERAS_BACKEND", "torch")
    return e


def make_course(course: Path, solution_dir: Path, name: str) -> Path:
    """A fresh nbgrader course with the assignment released; returns the student version's path."""
    if course.exists():
        shutil.rmtree(course)
    (course / "source").mkdir(parents=True)
    shutil.copytree(solution_dir, course / "source" / name,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    (course / "nbgrader_config.py").write_text(CONFIG.format(db=course / "gradebook.db", exchange=course / "exchange"))
    proc = subprocess.run([str(BIN / "nbgrader"), "generate_assignment", name], cwd=course, env=env(),
                          capture_output=True, text=True)
    released = course / "release" / name / f"{name}.ipynb"
    if proc.returncode != 0 or not released.is_file():
        raise RuntimeError(f"nbgrader generate_assignment {name} failed:\n{proc.stderr[-3000:]}")
    return released


def autograde(course: Path, name: str, students: list[str]) -> AnchorRun:
    """Run ``nbgrader autograde`` once for the class in ``course/submitted`` and read its gradebook."""
    started = time.monotonic()
    proc = subprocess.run([str(BIN / "nbgrader"), "autograde", name], cwd=course, env=env(),
                          capture_output=True, text=True)
    wall = time.monotonic() - started
    (course / "autograde.log").write_text(proc.stdout + proc.stderr)
    processed, timing = set(), {}
    for student in students:
        graded = course / "autograded" / student / name / f"{name}.ipynb"
        if graded.is_file():  # nbgrader removes the folder of a submission it failed on
            processed.add(student)
            timing[student] = compute_seconds(json.loads(graded.read_text())["cells"])
    return AnchorRun(wall, proc.returncode, read_scores(course / "gradebook.db", name, students), processed,
                     timing, str(course / "autograde.log"))


def read_scores(db: Path, name: str, students: list[str]) -> dict[str, dict[str, float]]:
    """Per student and grade cell, the gradebook's score (auto or manual; 0 where there is none)."""
    scores: dict[str, dict[str, float]] = {}
    with Gradebook(f"sqlite:///{db}") as gb:
        cells = [c.name for nb in gb.find_assignment(name).notebooks for c in nb.grade_cells]
        for student in students:
            try:
                sub = gb.find_submission(name, student)
            except MissingEntry:
                scores[student] = {c: 0.0 for c in cells}
                continue
            scores[student] = {g.name: float(g.score or 0.0) for nb in sub.notebooks for g in nb.grades}
    return scores
