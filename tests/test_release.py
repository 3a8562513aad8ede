"""exercises/ is generated from solutions/ and must be up to date (a lock-file check)."""
from __future__ import annotations

import subprocess

import pytest
from conftest import ROOT

from autograder import release
from autograder.course import assignments
from autograder.plans import AuthoringError, plan_test_cell


def committed(path) -> bytes | None:
    """The file as committed (HEAD), so that `make book` regenerating exercises/ cannot hide drift."""
    rel = path.relative_to(ROOT).as_posix()
    proc = subprocess.run(["git", "show", f"HEAD:{rel}"], cwd=ROOT, capture_output=True)
    if proc.returncode == 0:
        return proc.stdout
    inside = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=ROOT, capture_output=True)
    return None if inside.returncode == 0 else path.read_bytes()


@pytest.mark.parametrize("name", assignments(ROOT))
def test_exercises_are_up_to_date(name, tmp_path):
    fresh = release.generate(ROOT, name, tmp_path)
    shipped = committed(ROOT / "exercises" / name / f"{name}.ipynb")
    assert shipped is not None, f"exercises/{name}/{name}.ipynb is not committed: run `make exercises` and commit it"
    assert fresh.read_bytes() == shipped, (
        f"exercises/{name} is out of date with solutions/{name}: run `make exercises` and commit the result")


def test_generation_is_deterministic(tmp_path):
    name = assignments(ROOT)[0]
    first = release.generate(ROOT, name, tmp_path / "a", reuse=False).read_bytes()  # nbgrader both times
    assert release.generate(ROOT, name, tmp_path / "b", reuse=False).read_bytes() == first


def test_every_assignment_has_a_student_version():
    for name in assignments(ROOT):
        assert (ROOT / "exercises" / name / f"{name}.ipynb").is_file()


def test_lint_rejects_in_kernel_verdicts():
    with pytest.raises(AuthoringError, match="use check"):
        plan_test_cell("assert sigmoid(0) == 0.5\n", "test_sigmoid")
    with pytest.raises(AuthoringError, match="cannot be evaluated"):
        plan_test_cell("y = sigmoid(1.0)\ncheck(sigmoid(2.0), close_to=y)\n", "test_sigmoid")


def test_unknown_assignment_is_an_error():
    with pytest.raises(release.ReleaseError, match="unknown assignment"):
        release.source_notebook(ROOT, "ex99_nothing")
