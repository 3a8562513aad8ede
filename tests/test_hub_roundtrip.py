"""Issue 23: a JupyterHub course end to end, with real unix users and nbgrader's exchange.

An instructor and three students (created here, removed at the end) run nbgrader's own CLI as
themselves: release, fetch, submit (one after the due date), collect; the instructor grades with
``pdl-grade grade --course``, writes the feedback with ``pdl-grade feedback --course`` and releases it
with ``nbgrader release_feedback``; each student fetches it. The scores, late flags and seconds late
must equal ``nbgrader autograde``'s on a copy of the course; each student gets exactly their own
redacted page; the course keeps its config, and its source and gradebook keep the hidden tests.
"""
from __future__ import annotations

import datetime
import html
import os
import re
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, read_csv, read_nb, solution_path

NAME = "ex01_logistic_regression"
COURSE = "pdl-hub-test"
WRONG_SIGMOID = {"sigmoid": "def sigmoid(z):\n    return 1 / (1 + np.exp(z))\n"}  # tests/cases: sigmoid_no_minus
BIN = Path(sys.executable).parent


def _missing() -> str:
    if os.geteuid() != 0:
        return "the hub round trip creates unix users: it needs root (CI runs as root)"
    tools = [tool for tool in ("useradd", "userdel", "setpriv", "bwrap") if shutil.which(tool) is None]
    return f"the hub round trip needs {', '.join(tools)}" if tools else ""


pytestmark = pytest.mark.skipif(bool(_missing()), reason=_missing() or "-")


def _closed_folders() -> dict[Path, set[str]]:
    """Folders on the way to the venv's interpreter that other users cannot enter (pyenv under /root):
    {folder: the entries below it that the users need}, opened to them in a private mount only."""
    closed: dict[Path, set[str]] = {}
    for target in {Path(sys.executable).resolve(), Path(sys.base_prefix).resolve(), BIN, ROOT}:
        for folder in [*reversed(target.parents), target]:
            if folder.is_dir() and not folder.stat().st_mode & stat.S_IXOTH:
                closed.setdefault(folder, set()).add(target.relative_to(folder).parts[0])
                break
    return closed


class Users:
    """Unix users made for this test, each with a home in ``base``; commands run as them."""

    def __init__(self, base: Path):
        self.base, self.made, self.mounts, self.seconds = base, [], [], []
        for folder, entries in _closed_folders().items():  # an empty tmpfs over it, the needed entries bound back
            self.mounts += ["--perms", "0755", "--tmpfs", str(folder)]
            for entry in sorted(entries):
                self.mounts += ["--ro-bind", str(folder / entry), str(folder / entry)]

    def add(self, name: str) -> Path:
        home = self.base / "home" / name
        subprocess.run(["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/bin/sh", "--user-group",
                        name], check=True, capture_output=True)
        self.made.append(name)
        home.mkdir(parents=True)
        shutil.chown(home, name, name)
        return home

    def remove(self) -> None:
        for name in self.made:
            subprocess.run(["userdel", name], capture_output=True)

    def run(self, user: str, *command: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
        env = {"HOME": str(self.base / "home" / user), "PATH": f"{BIN}:/usr/bin:/bin", "LANG": "C.UTF-8",
               **{k: os.environ[k] for k in ("PDL_DATA_DIR", "KERAS_BACKEND") if k in os.environ}}
        drop = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "env", "-i",
                *(f"{k}={v}" for k, v in env.items())]
        wrap = ["bwrap", "--dev-bind", "/", "/", *self.mounts, "--chdir", str(cwd), "--"] if self.mounts else []
        started = time.monotonic()
        proc = subprocess.run([*wrap, *drop, *command], cwd=cwd, capture_output=True, text=True, timeout=600)
        self.seconds.append((f"{user[:5]} {' '.join(command[:2])}", round(time.monotonic() - started, 1)))
        if check and proc.returncode != 0:
            raise AssertionError(f"{user}: {' '.join(command)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        return proc


def write_as(user: str, path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    shutil.chown(path, user, user)


def answered(fetched: Path, overrides: dict[str, str]) -> str:
    """The fetched notebook with every solution cell answered by the instructor's solution (and ``overrides``)."""
    solution = read_nb(solution_path(NAME))
    answers = {c.metadata.nbgrader["grade_id"]: c.source for c in solution.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    answers.update(overrides)
    nb = read_nb(fetched)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers and cell.metadata.nbgrader.get("solution"):
            cell.source = answers[grade_id]
    return nbformat.writes(nb)


def hidden_lines() -> list[str]:
    """The hidden tests' lines (long enough to be unmistakable) of the instructor's notebook."""
    found = []
    for cell in read_nb(solution_path(NAME)).cells:
        for block in re.findall(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", cell.source, re.S):
            found += [line.strip() for line in block.splitlines() if len(line.strip()) > 12]
    assert len(found) > 5
    return found


def shown_text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page))  # highlighted code is split into spans


def gradebook_view(db: Path) -> dict[str, dict]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}", COURSE) as gb:
        assignment = gb.find_assignment(NAME)
        return {s.student.id: {"score": s.score, "timestamp": s.timestamp, "late": s.total_seconds_late,
                               "cells": {g.name: g.score for nb in s.notebooks for g in nb.grades}}
                for s in assignment.submissions}


@pytest.fixture(scope="module")
def hub():
    base = Path(tempfile.mkdtemp(prefix="pdl-hub-", dir="/tmp"))
    base.chmod(0o755)  # the users' homes and the exchange are below it
    users = Users(base)
    tag = secrets.token_hex(3)
    try:
        instructor = f"pdlteach{tag}"
        students = {f"alice{tag}": {}, f"bob{tag}": None, f"carol{tag}": WRONG_SIGMOID}  # None: submits it blank
        exchange = base / "exchange"
        exchange.mkdir()
        exchange.chmod(0o777 | stat.S_ISVTX)  # as nbgrader's docs set it up: everyone writes, no one deletes others'
        course = users.add(instructor) / "course"
        config = (f"c = get_config()\nc.CourseDirectory.course_id = {COURSE!r}\n"
                  f"c.Exchange.root = {str(exchange)!r}\n")
        write_as(instructor, course / "nbgrader_config.py", config)
        shutil.chown(course, instructor, instructor)
        homes = {student: users.add(student) for student in students}

        def both(*runs: tuple[str, tuple[str, ...], Path]) -> list[subprocess.CompletedProcess]:
            """Independent commands of different users at the same time, as on a hub."""
            with ThreadPoolExecutor(len(runs)) as pool:
                return list(pool.map(lambda run: users.run(run[0], *run[1], cwd=run[2]), runs))

        for student, home in homes.items():
            write_as(student, home / ".jupyter" / "nbgrader_config.py", config)

        log = {"release": users.run(instructor, "pdl-grade", "release", "--course", ".", NAME, cwd=course)}
        log["release_assignment"] = users.run(instructor, "nbgrader", "release_assignment", NAME, cwd=course)
        both(*[(student, ("nbgrader", "fetch_assignment", NAME), home) for student, home in homes.items()])
        late = f"carol{tag}"
        on_time = [s for s in students if s != late]
        for student in students:
            if student == late:
                due = datetime.datetime.now(datetime.timezone.utc)
                users.run(instructor, "nbgrader", "db", "assignment", "add", NAME,
                          f"--duedate={due:%Y-%m-%d %H:%M:%S.%f} UTC", cwd=course)
                time.sleep(1.2)
            fetched = homes[student] / NAME / f"{NAME}.ipynb"
            if students[student] is not None:
                write_as(student, fetched, answered(fetched, students[student]))
            users.run(student, "nbgrader", "submit", NAME, cwd=homes[student])
        users.run(instructor, "nbgrader", "collect", NAME, cwd=course)

        # nbgrader's own grades, on a copy of the course as collected
        reference = base / "reference"
        shutil.copytree(course, reference)
        subprocess.run([str(BIN / "nbgrader"), "autograde", NAME, "--force"], cwd=reference, check=True,
                       capture_output=True, timeout=600)

        log["grade"] = users.run(instructor, "pdl-grade", "grade", NAME, "--course", ".", "--workers", "2",
                                 "--quiet", cwd=course)
        log["feedback"] = users.run(instructor, "pdl-grade", "feedback", "--course", ".", cwd=course)
        log["release_feedback"] = users.run(instructor, "nbgrader", "release_feedback", NAME, cwd=course)
        log["list"], *_ = both((instructor, ("nbgrader", "list"), course / "pdl-grade"),
                               *[(student, ("nbgrader", "fetch_feedback", NAME), home) for student, home in homes.items()])
        fetched = {student: sorted((home / NAME / "feedback").glob(f"*/{NAME}.html")) for student, home in homes.items()}
        # nbgrader's own Generate Feedback in (a copy of) the course after pdl-grade graded it
        generated = base / "generated"
        shutil.copytree(course, generated)
        shutil.rmtree(generated / "feedback")
        subprocess.run([str(BIN / "nbgrader"), "generate_feedback", NAME, "--force"], cwd=generated, check=True,
                       capture_output=True, timeout=600)
        yield {"course": course, "reference": reference, "generated": generated, "students": list(students),
               "on_time": on_time, "late": late, "fetched": fetched, "log": log, "config": config,
               "exchange": exchange}
    finally:
        print("hub round trip, seconds per command:", users.seconds)
        users.remove()
        shutil.rmtree(base, ignore_errors=True)


def test_scores_equal_nbgrader_autograde(hub):
    ours, theirs = gradebook_view(hub["course"] / "gradebook.db"), gradebook_view(hub["reference"] / "gradebook.db")
    assert set(ours) == set(theirs) == set(hub["students"])
    for student in hub["students"]:
        assert ours[student]["cells"] == theirs[student]["cells"], student
        assert ours[student]["score"] == theirs[student]["score"]
    alice, bob, carol = hub["students"]
    assert ours[alice]["score"] == 14 and ours[bob]["score"] == 0 and 0 < ours[carol]["score"] < 14
    csv = {r["student_id"]: r for r in read_csv(hub["course"] / "pdl-grade" / "grades.csv")}
    assert {s: float(r["score"]) for s, r in csv.items()} == {s: ours[s]["score"] for s in hub["students"]}


def test_late_flag_and_seconds_equal_nbgraders(hub):
    ours, theirs = gradebook_view(hub["course"] / "gradebook.db"), gradebook_view(hub["reference"] / "gradebook.db")
    for student in hub["students"]:
        assert ours[student]["timestamp"] == theirs[student]["timestamp"] is not None  # kept in the gradebook
        assert ours[student]["late"] == theirs[student]["late"]
    assert ours[hub["late"]]["late"] > 1 and all(ours[s]["late"] == 0 for s in hub["on_time"])
    csv = {r["student_id"]: r["late"] for r in read_csv(hub["course"] / "pdl-grade" / "grades.csv")}
    assert csv == {s: "true" if s == hub["late"] else "false" for s in hub["students"]}
    assert f"{hub['late']} {ours[hub['late']]['late']:g} s" in hub["log"]["grade"].stderr


def test_each_student_fetches_exactly_their_own_redacted_page(hub):
    hidden, pages = hidden_lines(), {}
    for student in hub["students"]:
        (page,) = hub["fetched"][student]  # one submission, one page
        pages[student] = page.read_bytes()
        ours = hub["course"] / "feedback" / student / NAME / f"{NAME}.html"
        assert pages[student] == ours.read_bytes()  # pdl-grade's page, as released through the exchange
        text = pages[student].decode()
        assert not [line for line in hidden if line in shown_text(text) or line in text]
    assert len(set(pages.values())) == len(pages)  # three students, three different pages
    alice, bob, _ = hub["students"]
    assert "All checks passed." in pages[alice].decode() and "All checks passed." not in pages[bob].decode()
    assert len(list(hub["exchange"].glob(f"{COURSE}/feedback/*.html"))) == 3


def test_generate_feedback_in_the_course_shows_no_hidden_test(hub):
    hidden = hidden_lines()
    pages = sorted((hub["generated"] / "feedback").glob(f"*/{NAME}/{NAME}.html"))
    assert len(pages) == 3
    for page in pages:
        assert not [line for line in hidden if line in shown_text(page.read_text()) or line in page.read_text()]


def test_the_course_keeps_its_config_source_and_hidden_tests(hub):
    from nbgrader.api import Course, Gradebook

    course = hub["course"]
    assert (course / "nbgrader_config.py").read_text() == hub["config"]
    assert (course / "source" / NAME / f"{NAME}.ipynb").read_bytes() == solution_path(NAME).read_bytes()
    assert (course / "release" / NAME / f"{NAME}.ipynb").is_file()
    courses = {}
    for folder in (hub["reference"], course):
        with Gradebook(f"sqlite:///{folder / 'gradebook.db'}", COURSE) as gb:
            courses[folder] = {c.id for c in gb.db.query(Course)}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE) as gb:
        cells = "\n".join(c.source for c in gb.find_notebook(NAME, NAME).source_cells)
    # the id came from the config: no course of pdl-grade's own (nbgrader's preprocessors add "default_course")
    assert COURSE in courses[course] and courses[course] == courses[hub["reference"]]
    assert all(line in cells for line in hidden_lines())
    autograded = sorted((course / "autograded").glob(f"*/{NAME}/{NAME}.ipynb"))  # what formgrader shows
    assert len(autograded) == 3
    for autograded in autograded:
        assert not [line for line in hidden_lines() if line in autograded.read_text()]


def test_nbgrader_list_in_the_output_folder_says_what_it_is(hub):
    listed = hub["log"]["list"].stdout + hub["log"]["list"].stderr
    assert "no nbgrader exchange" in listed and NAME in listed


def test_users_made_for_the_test_are_removed():
    import pwd

    base = Path(tempfile.mkdtemp(prefix="pdl-hub-", dir="/tmp"))
    users = Users(base)
    try:
        name = f"pdlgone{secrets.token_hex(3)}"
        users.add(name)
        assert users.run(name, "id", "-un", cwd=base).stdout.strip() == name  # a real user, commands run as it
    finally:
        users.remove()
        shutil.rmtree(base, ignore_errors=True)
    with pytest.raises(KeyError):
        pwd.getpwnam(name)
