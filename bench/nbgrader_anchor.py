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

from autograder.runtime.execute import compute_seconds

BIN = Path(sys.executable).parent
CONFIG = """\
c = get_config()
c.CourseDirectory.course_id = "pdl-bench"
c.CourseDirectory.db_url = "sqlite:///{db}"
c.Exchange.root = "{exchange}"
# As an instructor would set up this course: put deleted test cells back (pdl-grade does too), and do not
# zero a test cell for a library's warning on stderr (Keras' input_shape UserWarning, torch notices).
c.OverwriteCells.add_missing_cells = True
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"Warning"
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
    ungraded: set[tuple[str, str]] = field(default_factory=set)  # (student, cell) without an auto or manual score
    stderr_cells: set[tuple[str, str]] = field(default_factory=set)  # graded cells whose output has stderr (nbgrader: 0)


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
    return read_run(course, name, students, wall, proc.returncode)


def read_run(course: Path, name: str, students: list[str], wall: float, returncode: int) -> AnchorRun:
    """What ``nbgrader autograde`` left in the course: autograded notebooks and the gradebook."""
    processed, timing, stderr = set(), {}, set()
    for student in students:
        graded = course / "autograded" / student / name / f"{name}.ipynb"
        if graded.is_file():  # nbgrader removes the folder of a submission it failed on
            processed.add(student)
            cells = json.loads(graded.read_text())["cells"]
            timing[student] = compute_seconds(cells)
            stderr |= {(student, c["metadata"]["nbgrader"]["grade_id"]) for c in cells
                       if c.get("metadata", {}).get("nbgrader", {}).get("grade") and
                       any(o.get("name") == "stderr" for o in c.get("outputs", []))}
    scores, ungraded = read_scores(course / "gradebook.db", name, students)
    return AnchorRun(wall, returncode, scores, processed, timing, str(course / "autograde.log"), ungraded, stderr)


def read_scores(db: Path, name: str, students: list[str]) -> tuple[dict[str, dict[str, float]], set[tuple[str, str]]]:
    """Per student and grade cell, the gradebook's score (auto or manual; 0 where there is none),
    and the (student, cell) pairs that have no score at all (nbgrader left them for a human)."""
    scores: dict[str, dict[str, float]] = {}
    ungraded: set[tuple[str, str]] = set()
    with Gradebook(f"sqlite:///{db}") as gb:
        cells = [c.name for nb in gb.find_assignment(name).notebooks for c in nb.grade_cells]
        for student in students:
            try:
                sub = gb.find_submission(name, student)
            except MissingEntry:
                scores[student] = {c: 0.0 for c in cells}
                continue
            grades = [g for nb in sub.notebooks for g in nb.grades]
            scores[student] = {g.name: float(g.score or 0.0) for g in grades}
            ungraded |= {(student, g.name) for g in grades if g.auto_score is None and g.manual_score is None}
    return scores, ungraded
