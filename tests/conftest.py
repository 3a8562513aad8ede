"""Shared helpers: real submissions on disk, the real pdl-grade command line."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _data_dir() -> str:
    shared = ROOT.parent / "shared" / "data"
    return os.environ.get("PDL_DATA_DIR") or str(shared)


os.environ.setdefault("PDL_DATA_DIR", _data_dir())
os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"


def solution_path(name: str) -> Path:
    return ROOT / "solutions" / name / f"{name}.ipynb"


def exercise_path(name: str) -> Path:
    return ROOT / "exercises" / name / f"{name}.ipynb"


def read_nb(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def cell_by_id(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(grade_id)


def student_version_with(name: str, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The released student notebook with some solution cells filled in, as a student would."""
    nb = read_nb(exercise_path(name))
    for grade_id, source in answers.items():
        cell_by_id(nb, grade_id).source = source
    return nb


def solved_student_version(name: str, overrides: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The student version with every solution cell answered by the instructor's solution."""
    solution = read_nb(solution_path(name))
    answers = {c.metadata.nbgrader["grade_id"]: c.source for c in solution.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    answers.update(overrides or {})
    return student_version_with(name, answers)


def write_class(folder: Path, name: str, notebooks: dict[str, nbformat.NotebookNode]) -> Path:
    for student, nb in notebooks.items():
        (folder / student).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / student / f"{name}.ipynb")
    return folder


def pdl_grade(*args: str, check: bool = True, timeout: int = 900) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(BIN / "pdl-grade"), *args, *(["--quiet"] if args and args[0] == "grade" else [])],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"pdl-grade {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def scores(out: Path) -> dict[str, tuple[float, float, str]]:
    return {r["student_id"]: (float(r["score"]), float(r["max_score"]), r["status"])
            for r in read_csv(out / "grades.csv")}


def cell_scores(out: Path, student: str) -> dict[str, float]:
    return {r["grade_id"]: float(r["score"]) for r in read_csv(out / "grades_long.csv") if r["student_id"] == student}


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
