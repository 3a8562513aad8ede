"""Issue 15: every error an instructor can cause is one line, exit code 2, no traceback, no output folder left.

The errors are caught before anything starts, so most cases call pdl-grade's main() in this process (what it
prints to stderr is captured); the relative --out run and --debug go through the installed command.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from conftest import BIN, ROOT, read_csv, solved_student_version, write_class

from autograder import cli

NAME = "ex01_logistic_regression"


@dataclass
class Ran:
    returncode: int
    stderr: str


def command(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> Ran:
    proc = subprocess.run([str(BIN / "pdl-grade"), *args], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})
    return Ran(proc.returncode, proc.stderr)


@pytest.fixture
def run(monkeypatch, capsys):
    """pdl-grade's main() in this process, in ``cwd`` with ``env`` set."""
    def call(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> Ran:
        monkeypatch.chdir(cwd)
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        code = cli.main(list(args))
        return Ran(code, capsys.readouterr().err)
    return call


def assert_instructor_error(proc: Ran, *words: str) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr  # one line: no bar, no traceback
    assert "Traceback" not in proc.stderr and "grading ex" not in proc.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def one_student(tmp_path_factory) -> Path:
    return write_class(tmp_path_factory.mktemp("class"), NAME, {"alice": solved_student_version(NAME)})


@pytest.fixture(scope="module")
def canvas_roster(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("roster") / "gradebook.csv"
    path.write_text("Student,ID,SIS User ID,SIS Login ID,Section,ex01_logistic_regression (555)\n"
                    "    Points Possible,,,,,16.00\n\"Doe, Jane\",12345,s001,jdoe,Sec A,\n")
    return path


def test_data_that_cannot_be_loaded_names_the_real_cause(run, tmp_path, one_student):
    data = tmp_path / "data"
    data.mkdir()
    (data / "data_banknote_authentication.txt").write_text("1,2,3,4,0\n")  # present, but not the UCI table
    out = tmp_path / "out"
    proc = run("grade", "ex04_gradient_descent", str(one_student), "--out", str(out),
               env={"PDL_DATA_DIR": str(data), "XDG_CACHE_HOME": str(tmp_path / "cache")})
    line = assert_instructor_error(proc, "ex04_gradient_descent needs the course data", "is not the UCI banknote data")
    assert "NameError" not in line and "ref_fd" not in line
    assert not out.exists()


def test_misspelt_assignment_suggests_the_close_name(run, tmp_path, one_student):
    proc = run("grade", "ex01_logistic_regresion", str(one_student), "--out", str(tmp_path / "out"))
    assert_instructor_error(proc, "unknown assignment 'ex01_logistic_regresion'", "did you mean ex01_logistic_regression?")
    assert not (tmp_path / "out").exists()


def test_missing_path(run, tmp_path):
    proc = run("grade", NAME, str(tmp_path / "nowhere.zip"), "--out", str(tmp_path / "out"))
    assert_instructor_error(proc, "no submissions at", "nowhere.zip")
    assert not (tmp_path / "out").exists()


def test_empty_folder_and_empty_zip(run, tmp_path):
    (tmp_path / "empty").mkdir()
    proc = run("grade", NAME, str(tmp_path / "empty"), "--out", str(tmp_path / "out"))
    assert_instructor_error(proc, "no submissions to grade", "is empty")
    zipfile.ZipFile(tmp_path / "empty.zip", "w").close()
    proc = run("grade", NAME, str(tmp_path / "empty.zip"), "--out", str(tmp_path / "out"))
    assert_instructor_error(proc, "no submissions to grade")
    assert not (tmp_path / "out").exists()


def test_a_download_in_which_nothing_is_a_submission(run, tmp_path):
    with zipfile.ZipFile(tmp_path / "export.zip", "w") as zf:
        zf.writestr("grades_report.pdf", b"%PDF")
        zf.writestr(f"{NAME}.ipynb", nbformat.writes(solved_student_version(NAME)))  # whose?
    proc = run("grade", NAME, str(tmp_path / "export.zip"), "--out", str(tmp_path / "out"))
    assert_instructor_error(proc, "no submissions found", "'grades_report.pdf'", f"'{NAME}.ipynb'", "--id-pattern")
    proc = run("grade", NAME, str(tmp_path / "export.zip"), "--out", str(tmp_path / "out"), "--id-pattern", "(?P<x>.*)")
    assert_instructor_error(proc, "has no (?P<student_id>...) group")
    assert not (tmp_path / "out").exists()


def test_out_that_is_a_file(run, tmp_path, one_student):
    (tmp_path / "file").write_text("")
    assert_instructor_error(run("grade", NAME, str(one_student), "--out", str(tmp_path / "file")), "is a file")
    assert_instructor_error(run("grade", NAME, str(one_student), "--out", str(tmp_path / "file" / "out")),
                            "cannot write to the output folder")
    assert_instructor_error(run("export", "--out", str(tmp_path / "file")), "is a file")


def test_course_root_not_found_says_where_it_looked(run, tmp_path, one_student):
    proc = run("grade", NAME, str(one_student), "--out", "out", "--root", str(tmp_path), cwd=tmp_path)
    assert_instructor_error(proc, "no course root found", str(tmp_path), "--root")
    assert not (tmp_path / "out").exists()


def test_unreadable_roster(run, tmp_path, one_student):
    (tmp_path / "latin1.csv").write_bytes("student_id\nM\xfcller\n".encode("latin-1"))
    for roster, words in ((tmp_path / "nope.csv", ("cannot read the roster", "nope.csv")),
                          (tmp_path, ("cannot read the roster",)),
                          (tmp_path / "latin1.csv", ("is not UTF-8",))):
        proc = run("grade", NAME, str(one_student), "--out", str(tmp_path / "out"), "--roster", str(roster))
        assert_instructor_error(proc, *words)
    assert not (tmp_path / "out").exists()


def test_roster_column_that_does_not_exist(run, tmp_path, one_student, canvas_roster):
    proc = run("grade", NAME, str(one_student), "--out", str(tmp_path / "out"), "--roster", str(canvas_roster),
               "--lms", "canvas", "--lms-column", "Exercise 1")
    assert_instructor_error(proc, "has no column 'Exercise 1'", "'ex01_logistic_regression (555)'")
    proc = run("grade", NAME, str(one_student), "--out", str(tmp_path / "out"), "--roster", str(canvas_roster),
               "--lms", "moodle")
    assert_instructor_error(proc, "--lms moodle needs a Moodle grading worksheet", "Canvas gradebook export")
    assert not (tmp_path / "out").exists()


def test_debug_shows_the_traceback(tmp_path):
    proc = command("grade", NAME, str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"), "--debug")
    assert proc.returncode == 2 and "Traceback" in proc.stderr and "IntakeError" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: no submissions at")


def test_relative_out_works_from_outside_the_course(tmp_path, one_student, canvas_roster):
    """The README's command, run in another folder: --out relative, --root after the subcommand."""
    proc = command("grade", NAME, str(one_student), "--out", "grading/ex01", "--root", str(ROOT), "--workers", "1",
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "grading" / "ex01"
    (row,) = read_csv(out / "grades.csv")
    assert (row["student_id"], row["score"], row["status"]) == ("alice", "14", "graded")
    assert row["needs_manual_grading"] == "1"  # the written answer, until graded in formgrader
    assert "written answers to grade" in proc.stderr
    proc = command("export", "--out", "grading/ex01", cwd=tmp_path)
    assert proc.returncode == 0 and "still have written answers to grade" in proc.stderr, proc.stderr
    proc = command("export", "--out", "grading/nothing", cwd=tmp_path)
    assert_instructor_error(proc, "no gradebook at", "run pdl-grade grade")
    # issue 23: a result whose kernel could not start (the grader's environment) is graded again by a rerun
    (stored,) = (out / "results" / NAME).rglob("*.json")
    data = json.loads(stored.read_text())
    stored.write_text(json.dumps({**data, "status": "kernel_failed", "cells": [
        {**cell, "score": 0.0, "passed": False} for cell in data["cells"]]}))
    assert read_csv(out / "grades.csv")[0]["status"] == "graded"
    proc = command("grade", NAME, str(one_student), "--out", "grading/ex01", "--root", str(ROOT), "--workers", "1",
                   cwd=tmp_path)
    assert proc.returncode == 0 and re.search(r"graded now / reused\s*│\s*1 / 0", proc.stderr), proc.stderr
    (row,) = read_csv(out / "grades.csv")
    assert (row["score"], row["status"]) == ("14", "graded")
    assert json.loads(stored.read_text())["status"] == "graded"


# --- issue 23: nbgrader courses ----------------------------------------------------------------------

def nbgrader_course(folder: Path) -> dict[str, bytes]:
    """A course as nbgrader quickstart leaves it (config, source with hidden tests, a gradebook): its bytes."""
    (folder / "source" / NAME).mkdir(parents=True)
    (folder / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "hub101"\n')
    shutil.copyfile(ROOT / "solutions" / NAME / f"{NAME}.ipynb", folder / "source" / NAME / f"{NAME}.ipynb")
    (folder / "gradebook.db").write_bytes(b"")
    return {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_out_on_an_nbgrader_course_is_refused_and_points_to_course(run, tmp_path, one_student):
    before = nbgrader_course(tmp_path / "course")
    for command_line in (("grade", NAME, str(one_student), "--out", str(tmp_path / "course")),
                         ("export", "--out", str(tmp_path / "course")), ("feedback", "--out", str(tmp_path / "course"))):
        assert_instructor_error(run(*command_line), "holds an nbgrader course that pdl-grade did not write",
                                "nbgrader_config.py", f"--course {tmp_path / 'course'}")
    (tmp_path / "course" / "nbgrader_config.py").unlink()  # a source/ and a gradebook are a course too
    assert_instructor_error(run("grade", NAME, str(one_student), "--out", str(tmp_path / "course")),
                            "source and gradebook.db", "--course")
    del before[str(tmp_path / "course" / "nbgrader_config.py")]
    assert {str(p): p.read_bytes() for p in (tmp_path / "course").rglob("*") if p.is_file()} == before


def test_course_errors_are_one_line(run, tmp_path):
    (tmp_path / "plain").mkdir()
    assert_instructor_error(run("grade", NAME, "--course", str(tmp_path / "nowhere")), "there is no such folder")
    assert_instructor_error(run("grade", NAME, "--course", str(tmp_path / "plain")), "has no nbgrader_config.py")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "nbgrader_config.py").write_text("# Written by pdl-grade (autograder/formgrader.py): ...\n")
    assert_instructor_error(run("feedback", "--course", str(tmp_path / "out")), "is an output folder", "--out")
    course = tmp_path / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text("c = get_config()\n")
    assert_instructor_error(run("grade", NAME, "--course", str(course)), "sets no course id")
    (course / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "hub101"\n')
    assert_instructor_error(run("grade", NAME, "--course", str(course)), "has no", "pdl-grade release --course")
    (course / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.course_id = = 1\n")
    assert_instructor_error(run("grade", NAME, "--course", str(course)), "cannot read", "SyntaxError")
    assert_instructor_error(run("grade", NAME), "needs the submissions", "--course")
    assert sorted(p.name for p in course.iterdir()) == ["nbgrader_config.py"]  # nothing written
