"""The same class through ``pdl-grade grade`` (sandbox on), timed, and its CSVs and results read back."""
from __future__ import annotations

import csv
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder.model import Status
from autograder.results import ResultStore

from .nbgrader_anchor import BIN, env


@dataclass
class PdlRun:
    wall_seconds: float
    returncode: int
    workers: int
    scores: dict[str, dict[str, float]]  # student -> grade_id -> score, from grades_long.csv
    status: dict[str, Status]  # student -> status, from grades.csv
    compute_seconds: dict[str, float] = field(default_factory=dict)  # the stored results' own field
    kernel_seconds: dict[str, float] = field(default_factory=dict)  # the results' "seconds": kernel start to end
    log: str = ""


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def grade(root: Path, name: str, submissions: Path, out: Path, workers: int, threads: int | None = None) -> PdlRun:
    """``pdl-grade grade`` into a fresh ``out``: intake, sandboxed kernels, gradebook, CSVs, feedback."""
    if out.exists():
        shutil.rmtree(out)
    started = time.monotonic()
    extra = ["--threads", str(threads)] if threads else []
    proc = subprocess.run([str(BIN / "pdl-grade"), "grade", name, str(submissions), "--out", str(out),
                           "--workers", str(workers), "--quiet", *extra], cwd=root, env=env(), capture_output=True,
                          text=True)
    wall = time.monotonic() - started
    log = out.parent / f"{out.name}.log"
    log.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0 or not (out / "grades.csv").is_file():
        raise RuntimeError(f"pdl-grade grade failed ({proc.returncode}); see {log}:\n{proc.stderr[-3000:]}")
    return PdlRun(wall, proc.returncode, workers, *read_out(out, name), log=str(log))


def alone(root: Path, name: str, submissions: Path, work: Path, every: int = 10, at_least: int = 3,
          threads: int = 1) -> PdlRun:
    """A sample of the class (every ``every``-th student, at least ``at_least``) graded again with one worker.

    Its compute_seconds are the students' code run alone on the machine: with more kernels than
    cores, the main run's cell times also count the waits for a core, so they overstate the code's cost.
    Its kernels get the main run's threads (one worker alone would get all the cores, and its
    training time would then not be the core time the main run spends on it).
    """
    students = sorted(p for p in submissions.iterdir() if p.is_dir())
    step = max(1, min(every, len(students) // at_least))
    sample = work / "sample"
    if sample.exists():
        shutil.rmtree(sample)
    for student in students[::step]:
        shutil.copytree(student, sample / student.name)
    return grade(root, name, sample, work / "out", workers=1, threads=threads)


def read_out(out: Path, name: str) -> tuple[dict, dict, dict, dict]:
    """(scores, status, compute_seconds, kernel_seconds) from pdl-grade's CSVs and stored results."""
    scores: dict[str, dict[str, float]] = {}
    for row in _rows(out / "grades_long.csv"):
        scores.setdefault(row["student_id"], {})[row["grade_id"]] = float(row["score"] or 0.0)
    status = {row["student_id"]: Status(row["status"]) for row in _rows(out / "grades.csv")}
    compute, kernel = {}, {}
    store = ResultStore(out / "results" / name)
    for path in store.stored():  # one result per student: ``out`` is graded fresh
        result = store.read(path)
        kernel[result.student_id] = result.seconds
        compute[result.student_id] = result.compute_seconds
    return scores, status, compute, kernel
