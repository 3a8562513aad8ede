"""Issue 5: bad input never stops the batch; a crash loses nothing; instructor errors stop early."""
from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from conftest import (BIN, ROOT, exercise_path, pdl_grade, read_nb, scores, solved_student_version,
                      write_class)
from nbformat.v4 import new_code_cell

NAME = "ex01_logistic_regression"
FULL = 14.0


def nb_bytes(nb) -> bytes:
    return nbformat.writes(nb).encode()


@pytest.fixture(scope="module")
def bad_class(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    good = solved_student_version(NAME)

    def put(student: str, filename: str, data: bytes) -> None:
        (folder / student).mkdir(parents=True, exist_ok=True)
        (folder / student / filename).write_bytes(data)

    put("good", f"{NAME}.ipynb", nb_bytes(good))
    put("invalid_json", f"{NAME}.ipynb", b'{"cells": [ this is not json')
    put("empty", f"{NAME}.ipynb", b"")
    put("not_a_notebook", f"{NAME}.ipynb", b'{"hello": "world"}')
    put("v3", f"{NAME}.ipynb", nbformat.writes(nbformat.convert(good, 3)).encode())
    put("renamed", "my_homework.ipynb", nb_bytes(good))
    put("several", "a.ipynb", nb_bytes(good))
    put("several", "b.ipynb", nb_bytes(good))
    (folder / "empty_folder").mkdir()
    deleted = solved_student_version(NAME)
    deleted.cells = [c for c in deleted.cells
                     if c.metadata.get("nbgrader", {}).get("grade_id") not in ("test_sigmoid", "test_logit_hidden")]
    put("deleted_tests", f"{NAME}.ipynb", nb_bytes(deleted))
    edited = solved_student_version(NAME)
    for cell in edited.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_sigmoid":
            cell.source = "pass  # nothing to see"
    put("edited_tests", f"{NAME}.ipynb", nb_bytes(edited))
    moved = solved_student_version(NAME)
    setup = next(i for i, c in enumerate(moved.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    moved.cells.append(moved.cells.pop(setup))  # the setup cell, moved to the end: nothing can run before it
    put("moved_setup", f"{NAME}.ipynb", nb_bytes(moved))
    dies = solved_student_version(NAME)
    dies.cells.insert(2, new_code_cell("import os\nos._exit(3)"))
    put("kernel_dies", f"{NAME}.ipynb", nb_bytes(dies))
    chatty = solved_student_version(NAME)
    chatty.cells.insert(2, new_code_cell("for _ in range(100):\n    print('x' * 2**20)"))  # 100 MB
    put("huge_output", f"{NAME}.ipynb", nb_bytes(chatty))
    odd = os.fsencode(str(folder)) + b"/caf\xe9_\xff"
    os.makedirs(odd)
    with open(odd + f"/{NAME}.ipynb".encode(), "wb") as handle:
        handle.write(nb_bytes(good))
    # an LMS zip with a zip-slip member and a zip bomb, each inside one student's folder
    lms = tmp_path_factory.mktemp("lms") / "export.zip"
    with zipfile.ZipFile(lms, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"class/ok_in_zip/{NAME}.ipynb", nb_bytes(good))
        zf.writestr(f"class/slipper/../../../../tmp/pdl-zip-slip-{os.getpid()}.ipynb", nb_bytes(good))
        zf.writestr(f"class/bomber/{NAME}.ipynb", b"\0" * (80 * 2**20))
        inner = io.BytesIO()
        with zipfile.ZipFile(inner, "w") as nested:
            nested.writestr(f"{NAME}.ipynb", nb_bytes(good))
        zf.writestr("class/zipped_upload/upload.zip", inner.getvalue())
    out = tmp_path_factory.mktemp("out")
    pdl_grade("grade", NAME, str(folder), "--out", str(out), "--workers", "2", "--timeout", "20",
              "--roster", str(_roster(tmp_path_factory)))
    zout = tmp_path_factory.mktemp("zout")
    pdl_grade("grade", NAME, str(lms), "--out", str(zout), "--workers", "2")
    return out, zout


def _roster(tmp_path_factory) -> Path:
    """Every student of the class (a submission from anyone else would be not_in_roster), and one who sent nothing."""
    path = tmp_path_factory.mktemp("roster") / "roster.csv"
    others = ["invalid_json", "empty", "not_a_notebook", "v3", "renamed", "several", "empty_folder", "deleted_tests",
              "edited_tests", "moved_setup", "kernel_dies", "huge_output", "caf"]  # caf: the non-UTF-8 folder's id
    path.write_text("student_id,name\ngood,Good Student\nabsent,Never Submitted\n" + "".join(f"{s},\n" for s in others))
    return path


def result(out: Path, student: str) -> dict:
    (path,) = (out / "results" / NAME / student).glob("*.json")
    return json.loads(path.read_text())


@pytest.mark.parametrize("student, status, score, words", [
    ("good", "graded", FULL, ""),
    ("invalid_json", "invalid_json", 0, "not valid JSON"),
    ("empty", "empty_file", 0, "is empty"),
    ("not_a_notebook", "invalid_notebook", 0, "not a Jupyter notebook"),
    ("v3", "graded", FULL, "nbformat 3"),
    ("renamed", "wrong_name", FULL, "my_homework.ipynb"),
    ("several", "several_notebooks", 0, "several notebooks"),
    ("empty_folder", "missing", 0, "no notebook"),
    ("absent", "missing", 0, "roster"),
    ("deleted_tests", "graded", FULL, "test_sigmoid was deleted and has been restored"),
    ("edited_tests", "graded", FULL, "test_sigmoid was edited and has been restored"),
    ("moved_setup", "graded", 2.0, "setup was moved"),  # only p_fake (a literal) works without numpy
    ("kernel_dies", "kernel_died", 0, "kernel died"),
    ("huge_output", "graded", FULL, "truncated"),
])
def test_bad_input_table(bad_class, student, status, score, words):
    out, _ = bad_class
    assert scores(out)[student][:1] + scores(out)[student][2:] == (score, status)
    assert words in result(out, student)["message"]
    assert (out / "feedback" / student / f"{NAME}.html").is_file()


def test_non_utf8_folder_name_gets_a_safe_id(bad_class):
    out, _ = bad_class
    odd = [s for s in scores(out) if s.startswith("caf")]
    assert len(odd) == 1 and scores(out)[odd[0]] == (FULL, 16.0, "graded")
    assert odd[0].isprintable() and "/" not in odd[0]


def test_huge_output_is_capped(bad_class):
    out, _ = bad_class
    nb = (out / "autograded" / "huge_output" / NAME / f"{NAME}.ipynb")
    assert nb.stat().st_size < 3 * 2**20


def test_lms_zip_with_slip_bomb_and_nested_zip(bad_class):
    _, zout = bad_class
    got = scores(zout)
    assert got["ok_in_zip"] == (FULL, 16.0, "graded")
    assert got["zipped_upload"] == (FULL, 16.0, "graded")
    assert got["slipper"][2] == "unsafe_archive" and got["slipper"][0] == 0
    assert got["bomber"][2] == "zip_bomb" and got["bomber"][0] == 0
    assert not Path(f"/tmp/pdl-zip-slip-{os.getpid()}.ipynb").exists()


def _class_of(folder: Path, n: int) -> Path:
    notebooks = {}
    for i in range(n):
        wrong = {"sigmoid": "def sigmoid(z):\n    return 1 / (1 + np.exp(z))\n"} if i % 3 == 1 else {}
        notebooks[f"s{i:02d}"] = solved_student_version(NAME, wrong) if i % 3 != 2 else read_nb(exercise_path(NAME))
    return write_class(folder, NAME, notebooks)


def complete_results(out: Path) -> list[Path]:
    """Stored results, not the half-written temporary file a kill -9 may leave (pathlib's glob matches dotfiles)."""
    return [p for p in (out / "results").glob("*/*/*.json") if not p.name.startswith(".")]


def test_kill_9_mid_batch_then_rerun_finishes_with_identical_csv(tmp_path):
    folder = _class_of(tmp_path / "class", 10)
    reference = tmp_path / "reference"
    pdl_grade("grade", NAME, str(folder), "--out", str(reference), "--workers", "2")

    out = tmp_path / "out"
    proc = subprocess.Popen([str(BIN / "pdl-grade"), "grade", NAME, str(folder), "--out", str(out), "--workers", "2",
                             "--quiet"], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(complete_results(out)) < 3:
        assert proc.poll() is None, "the grader finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {p: p.stat().st_mtime_ns for p in complete_results(out)}
    assert 3 <= len(done_before) < 10

    rerun = pdl_grade("grade", NAME, str(folder), "--out", str(out), "--workers", "2")
    assert re.search(rf"graded now / reused\W+{10 - len(done_before)} / {len(done_before)}\b", rerun.stderr), rerun.stderr
    assert all(p.stat().st_mtime_ns == t for p, t in done_before.items())  # nothing graded twice
    assert (out / "grades.csv").read_text() == (reference / "grades.csv").read_text()
    assert (out / "grades_long.csv").read_text() == (reference / "grades_long.csv").read_text()


def test_changed_resubmission_is_regraded_unchanged_is_not(tmp_path):
    folder = _class_of(tmp_path / "class", 3)
    out = tmp_path / "out"
    pdl_grade("grade", NAME, str(folder), "--out", str(out))
    assert scores(out)["s02"][0] == 0
    nbformat.write(solved_student_version(NAME), folder / "s02" / f"{NAME}.ipynb")
    rerun = pdl_grade("grade", NAME, str(folder), "--out", str(out))
    assert "1 / 2" in rerun.stderr
    assert scores(out)["s02"] == (FULL, 16.0, "graded")


def test_instructor_errors_stop_before_grading(tmp_path):
    folder = _class_of(tmp_path / "class", 1)
    proc = pdl_grade("grade", "ex99_unknown", str(folder), "--out", str(tmp_path / "o1"), check=False)
    assert proc.returncode == 2 and "unknown assignment" in proc.stderr
    (tmp_path / "file").write_text("")
    proc = pdl_grade("grade", NAME, str(folder), "--out", str(tmp_path / "file" / "out"), check=False)
    assert proc.returncode == 2 and "cannot write to the output folder" in proc.stderr
    proc = pdl_grade("grade", NAME, str(tmp_path / "nowhere"), "--out", str(tmp_path / "o2"), check=False)
    assert proc.returncode == 2 and "no submissions" in proc.stderr
    assert not (tmp_path / "o2" / "results").exists() or not list((tmp_path / "o2" / "results").rglob("*.json"))


def test_refuses_without_bubblewrap_unless_told(tmp_path, monkeypatch):
    folder = _class_of(tmp_path / "class", 1)
    monkeypatch.setenv("PDL_BWRAP", "/nonexistent/bwrap")
    proc = pdl_grade("grade", NAME, str(folder), "--out", str(tmp_path / "o"), check=False)
    assert proc.returncode == 2 and "--unsafe-no-sandbox" in proc.stderr
    assert not (tmp_path / "o" / "grades.csv").exists()
    proc = pdl_grade("grade", NAME, str(folder), "--out", str(tmp_path / "o"), "--unsafe-no-sandbox")
    assert "OFF (--unsafe-no-sandbox)" in proc.stderr
    assert scores(tmp_path / "o")["s00"] == (FULL, 16.0, "graded")
