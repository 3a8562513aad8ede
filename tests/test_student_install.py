"""The student install (issue 13): ``pip install .`` in a fresh venv runs every exercise, and ``pdl-check`` works there.

The venv is built once for this module, from a copy of the checkout's package files, non-editable, as a student would
(pip's cache is reused). Every exact pin of pyproject.toml's extras is passed as a constraint, so the venv gets the
versions CI tests everything else with, torch the CPU wheel ``torch==2.13.0`` included (an open range pulls the CUDA
build, GBs, on Linux). The pdl-check tests at the end run in this project's own venv: they need no fresh install.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT, cell_by_id, read_nb

from autograder.course import assignments
from pdl import limits
from pdl.assignments import ASSIGNMENTS, identify
from pdl.selfcheck import BEGIN_HIDDEN, END_HIDDEN

SOLUTIONS = assignments(ROOT)  # what release.py and the grader take as the assignments
NOT_FOR_STUDENTS = ("nbgrader", "jupyter_book", "sphinx", "ray")  # the grader, the book, the cluster
FOR_STUDENTS = ("pdl", "numpy", "scipy", "matplotlib", "keras", "torch", "ipykernel", "nbclient", "nbformat")
PACKAGE_FILES = ("pyproject.toml", "README.md", "pdl", "autograder")  # what `pip install .` builds from

# Runs a notebook strictly top to bottom (the first error stops it) in the venv's own kernel; prints where it stopped.
STRICT_RUN = """
import json, sys, tempfile
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
nb = nbformat.read(sys.argv[1], as_version=4)
state = {"cell": None}
def started(cell, cell_index, **_):
    state["cell"] = cell_index
with tempfile.TemporaryDirectory() as work:
    client = NotebookClient(nb, kernel_name="python3", timeout=int(sys.argv[2]), on_cell_start=started,
                            resources={"metadata": {"path": work}})
    try:
        client.execute()
        print(json.dumps({"ename": None, "cell": None}))
    except CellExecutionError as exc:
        print(json.dumps({"ename": exc.ename, "cell": state["cell"]}))
"""


def exact_pins() -> list[str]:
    """Every ``name==version`` of the extras: the one list of versions the grader, book and tests are run with."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    return sorted({re.sub(r"\[.*?\]", "", req) for reqs in extras.values() for req in reqs if "==" in req})


def public_tests(nb: nbformat.NotebookNode) -> list[str]:
    """grade_ids of the test cells with code outside their hidden block (the student version's public tests)."""
    ids = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            source = re.sub(rf"{re.escape(BEGIN_HIDDEN)}.*?{re.escape(END_HIDDEN)}", "", cell.source, flags=re.S)
            if any(line.strip() and not line.strip().startswith("#") for line in source.splitlines()):
                ids.append(meta["grade_id"])
    return ids


def answer_cells(nb: nbformat.NotebookNode) -> list[str]:
    return [c.metadata.nbgrader["grade_id"] for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]


def venv_env(tmp: Path) -> dict[str, str]:
    """The environment of a student's terminal: no PATH into this project's venv, Jupyter's user dirs empty."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH", "JUPYTER"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if Path(sys.executable).parent != Path(p))
    env["JUPYTER_DATA_DIR"] = str(tmp / "jupyter-data")  # kernels registered for the user are not this venv's
    env["JUPYTER_CONFIG_DIR"] = str(tmp / "jupyter-config")
    return env


@pytest.fixture(scope="module")
def student(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh venv with the student install: (its bin folder, the environment to run it with)."""
    tmp = tmp_path_factory.mktemp("student-install")
    src = tmp / "checkout"
    src.mkdir()
    for name in PACKAGE_FILES:  # a copy: pip's in-tree build would write build/ and egg-info into the checkout
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, src / name)
    constraints = tmp / "constraints.txt"
    constraints.write_text("\n".join(exact_pins()) + "\n")
    assert "torch==2.13.0" in constraints.read_text().split()
    venv, env = tmp / "venv", venv_env(tmp)
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--constraint",
                          str(constraints), str(src)], env=env, capture_output=True, text=True, timeout=1800)
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    print(f"student install: {time.monotonic() - t0:.1f} s")
    return venv / "bin", env


def run(cmd: list[str], env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


@pytest.mark.slow
def test_student_install_has_the_exercises_tools_and_not_the_graders(student):
    bindir, env = student
    probe = ("import importlib.util, json, torch; print(json.dumps({'torch': torch.__version__, "
             f"'found': [m for m in {NOT_FOR_STUDENTS + FOR_STUDENTS!r} if importlib.util.find_spec(m)]}}))")
    out = json.loads(run([str(bindir / "python"), "-c", probe], env).stdout)
    assert [m for m in NOT_FOR_STUDENTS if m in out["found"]] == []
    assert [m for m in FOR_STUDENTS if m not in out["found"]] == []
    assert out["torch"].startswith("2.13.0")
    assert (bindir / "pdl-check").is_file()


@pytest.mark.slow
def test_pdl_grade_without_the_grader_extra_says_how_to_get_it(student):
    bindir, env = student
    proc = run([str(bindir / "pdl-grade"), "--help"], env)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "pip install '.[grader]'" in proc.stderr and "nbgrader" in proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", SOLUTIONS)
def test_solution_passes_every_public_test_with_pdl_check(student, name):
    """The instructor's notebook, top to bottom in a fresh kernel of the student venv: exit 0, every public test."""
    bindir, env = student
    path = ROOT / "solutions" / name / f"{name}.ipynb"
    proc = run([str(bindir / "pdl-check"), str(path)], env)
    lines = proc.stdout.splitlines()
    passed = [m[1] for line in lines if (m := re.match(r"passed\s+(\S+)", line))]
    expected = public_tests(read_nb(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert passed == expected and expected
    assert not [line for line in lines if line.split(" ", 1)[0] in
                ("FAILED", "ERROR", "MISSING", "NOT", "FILE", "TIMEOUT", "STOPPED")], proc.stdout
    assert f"RESULT  {len(expected)} of {len(expected)} public tests passed" in proc.stdout
    assert "hidden tests" in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("name", SOLUTIONS)
def test_student_notebook_stops_at_its_first_unanswered_cell(student, name):
    """Run strictly, the untouched student version gets through its imports and stops at a NotImplementedError."""
    bindir, env = student
    path = ROOT / "exercises" / name / f"{name}.ipynb"
    proc = run([str(bindir / "python"), "-c", STRICT_RUN, str(path), str(limits.CELL_TIMEOUT_S)], env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    stopped = json.loads(proc.stdout.splitlines()[-1])
    assert stopped["ename"] == "NotImplementedError", stopped
    cells = read_nb(path).cells
    first_answer = next(i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("solution")
                        and c.cell_type == "code")
    # no earlier cell failed (a strict run stops at the first error): the setup and its imports ran
    assert stopped["cell"] >= first_answer


@pytest.mark.slow
def test_pdl_check_lists_what_a_blank_notebook_still_lacks(student, tmp_path):
    bindir, env = student
    name = "ex01_logistic_regression"
    path = tmp_path / f"{name}.ipynb"
    shutil.copy(ROOT / "exercises" / name / f"{name}.ipynb", path)
    proc = run([str(bindir / "pdl-check"), str(path)], env)
    nb = read_nb(path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    unanswered = re.findall(r"^NOT ANSWERED\s+cell \d+ \((\w+)\): still raises NotImplementedError$", proc.stdout, re.M)
    assert unanswered == answer_cells(nb)
    written = re.findall(r"^NOT ANSWERED\s+cell \d+ \((\w+)\): written answer still says", proc.stdout, re.M)
    assert written == [c.metadata.nbgrader["grade_id"] for c in nb.cells
                       if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution")]
    failed = re.findall(r"^FAILED\s+(\w+) ", proc.stdout, re.M)
    assert failed == public_tests(nb)
    assert f"RESULT  0 of {len(failed)} public tests passed" in proc.stdout
    assert re.search(r"^TIME  [\d.]+ s for the whole notebook \(the grader stops it at "
                     rf"{limits.NOTEBOOK_TIMEOUT_S} s\)", proc.stdout, re.M)
    assert "FILE NAME" not in proc.stdout


# --------------------------------------------------------------------------- pdl-check in this project's venv
def pdl_check(path: Path) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "pdl.selfcheck", str(path)], dict(os.environ))


def test_pdl_check_finds_a_renamed_function_and_a_renamed_file(tmp_path):
    """A solved notebook, saved by Colab as "Copy of ...", whose sigmoid was renamed: both are named, exit 1."""
    name = "ex01_logistic_regression"
    nb = read_nb(ROOT / "solutions" / name / f"{name}.ipynb")
    cell = cell_by_id(nb, "sigmoid")
    cell.source = cell.source.replace("def sigmoid(", "def sigmoid_fn(")
    for c in nb.cells:  # the student's own cells call it by the new name
        if c.metadata.get("nbgrader", {}).get("solution"):
            c.source = re.sub(r"\bsigmoid\(", "sigmoid_fn(", c.source)
    path = tmp_path / f"Copy of {name}.ipynb"
    nbformat.write(nb, path)
    proc = pdl_check(path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert re.search(r"^FAILED\s+test_sigmoid \(cell \d+\): NameError: name 'sigmoid' is not defined", proc.stdout, re.M)
    assert re.search(r"^MISSING\s+sigmoid: used by test_sigmoid, not defined after the run; renamed to sigmoid_fn\?",
                     proc.stdout, re.M)
    assert f"FILE NAME  Copy of {name}.ipynb: submit it as {name}.ipynb" in proc.stdout
    assert re.search(r"^passed\s+test_logit ", proc.stdout, re.M)  # the rest still ran


def test_pdl_check_stops_a_cell_at_the_graders_cell_limit(tmp_path):
    """A cell that runs past the limit is interrupted, its test fails, and the notebook goes on (as in the grader)."""
    from pdl import selfcheck

    name = "ex01_logistic_regression"
    nb = read_nb(ROOT / "solutions" / name / f"{name}.ipynb")
    cell = cell_by_id(nb, "logit")
    cell.source = "import time\ntime.sleep(30)  # interrupted at the cell limit: logit is never defined\n" + cell.source
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, path)
    lines, ok = selfcheck.check_notebook(path, selfcheck.prepare(path), cell_timeout=3, total_timeout=120)
    text = "\n".join(lines)
    assert not ok
    assert re.search(r"^TIMEOUT  cell \d+ ran longer than", text, re.M), text
    assert re.search(r"^FAILED\s+test_logit \(cell \d+\): NameError", text, re.M), text
    assert re.search(r"^passed\s+test_decision_boundary ", text, re.M), text  # the cells after it ran


@pytest.mark.parametrize("content", [None, "", "not json", '{"cells": 3}', '{"cells": 3, "nbformat": 4}',
                                     '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'])
def test_pdl_check_usage_errors_exit_2_in_one_line(tmp_path, capsys, content):
    """No file, not JSON, not a notebook, not a valid one, one without public tests: one line on stderr, exit 2."""
    from pdl import selfcheck

    path = tmp_path / "ex01_logistic_regression.ipynb"
    if content is not None:
        path.write_text(content)
    assert selfcheck.main([str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and err.startswith("pdl-check: error: ")


def test_assignment_names_have_one_source_and_are_recognised():
    assert tuple(SOLUTIONS) == ASSIGNMENTS
    for name in ASSIGNMENTS:
        nb = read_nb(ROOT / "exercises" / name / f"{name}.ipynb")
        assert identify(nb, Path("my homework.ipynb")) == name  # by its title
        nb.cells = [c for c in nb.cells if c.cell_type == "code"]
        assert identify(nb, Path(f"Copy of {name} (1).ipynb")) == name  # by the file name
