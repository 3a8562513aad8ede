"""Issue 15, item 5: manual grading in nbgrader's formgrader, on pdl-grade's output folder, safely.

A small ex01 class is graded by the real `pdl-grade`; Jupyter's own server (with nbgrader's
formgrader extension, as an instructor starts it) runs in the output folder; Chromium (Debian's,
through Playwright) gives a written answer a score and a comment and presses formgrader's
feedback buttons. Then `pdl-grade export` and `pdl-grade feedback` show the manual grade, no
feedback file holds a hidden test, an expected value or the rubric, no file anywhere under the
output folder (source/, results/, the gradebook's bytes included) holds a hidden test or the
instructor's detail of a hidden check, math is typeset from the output folder with no request
leaving the machine, and a rerun of `grade` keeps the grade and its "graded" state.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import BIN, ROOT, cell_by_id, pdl_grade, read_nb, scores, solution_path, write_class
from nbgrader.api import Gradebook

from autograder import release
from autograder.gradebook import names

NAME = "ex01_logistic_regression"
WRITTEN = "observe_boundaries"
TOKEN = "pdl-formgrader-test"
COMMENT = "Right idea; say why the slope is shared."
ANSWER = "Parallel lines, since they share one slope; steeper probability where they are close together."
CHROMIUM = os.environ.get("PDL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def _hidden_lines() -> list[str]:
    """Every line of the instructor's hidden tests that says something (sources and expected values)."""
    lines = []
    for cell in read_nb(solution_path(NAME)).cells:
        for block in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S):
            lines += [line.strip() for line in block.splitlines() if len(line.strip()) > 12]
    assert len(lines) >= 6
    return lines


def _model_answer() -> str:
    source = cell_by_id(read_nb(solution_path(NAME)), WRITTEN).source
    return next(line for line in source.splitlines() if len(line) > 30)[:40]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    student = read_nb(release.generate(ROOT, NAME, tmp_path_factory.mktemp("release")))
    for cell in read_nb(solution_path(NAME)).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta["grade_id"] != WRITTEN:
            cell_by_id(student, meta["grade_id"]).source = cell.source
    cell_by_id(student, WRITTEN).source = ANSWER
    blank = read_nb(release.generate(ROOT, NAME, tmp_path_factory.mktemp("blank")))
    folder = write_class(tmp_path_factory.mktemp("class"), NAME, {"ada": student, "bo": blank, "Zoë Müller": blank})
    out = tmp_path_factory.mktemp("out")
    started = time.monotonic()
    pdl_grade("grade", NAME, str(folder), "--out", str(out))
    print(f"grade: {time.monotonic() - started:.1f} s")
    return folder, out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(course):
    """`jupyter server` in the output folder, as the README says (jupyter lab is the same server plus Lab)."""
    _, out = course
    port = _free_port()
    log = open(out.parent / "jupyter.log", "w")
    command = [str(BIN / "jupyter"), "server", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
               f"--IdentityProvider.token={TOKEN}", "--ServerApp.port_retries=0"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    proc = subprocess.Popen(command, cwd=out, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)  # noqa: S310 (our http URL)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"jupyter server did not start:\n{(out.parent / 'jupyter.log').read_text()[-3000:]}")
            time.sleep(0.5)
    yield url, out.parent / "jupyter.log"
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(30)
    log.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium (never a Playwright download)",
                    pytrace=False)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


def _offline_page(browser, url: str, login: str | None = None):
    """A page that may load nothing but the local server and files; what it tried elsewhere is kept.

    ``login``: a URL with the token, opened first, as the instructor opens the one Jupyter prints
    (it sets the login cookie that the page's own requests, MathJax's among them, then carry).
    """
    page = browser.new_page()
    page.outside, page.errors = [], []
    page.on("pageerror", lambda error: page.errors.append(str(error)))

    def route(request_route):
        target = request_route.request.url
        if target.startswith(("http://127.0.0.1", "file://", "data:")):
            request_route.continue_()
        else:
            page.outside.append(target)
            request_route.abort()

    page.route("**/*", route)
    if login:
        page.goto(login)
    page.goto(url)
    return page


def _saved(out: Path) -> tuple[bool, bool]:
    """Whether ada's manual score (reviewed) and comment are in the gradebook."""
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        grade = gb.find_grade(WRITTEN, NAME, NAME, "ada")
        comment = gb.find_comment(WRITTEN, NAME, NAME, "ada")
        return grade.manual_score == 1.5 and not grade.needs_manual_grade, comment.manual_comment == COMMENT


@pytest.fixture(scope="module")
def graded_by_hand(course, server, browser):
    """Chromium: a score and a comment for ada's written answer, then formgrader's feedback buttons."""
    _, out = course
    url, _ = server
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        submission_id = gb.find_submission_notebook(NAME, NAME, "ada").id
    login = f"{url}/formgrader?token={TOKEN}"
    page = _offline_page(browser, f"{url}/formgrader/submissions/{submission_id}/", login)
    page.wait_for_selector(f"input.score#{WRITTEN}", timeout=60_000)
    page.wait_for_selector("mjx-container", timeout=60_000)  # math typeset from the output folder
    # formgrade.js binds its score and comment boxes once it has fetched them (typing earlier is lost)
    page.wait_for_function("window.formgrader && formgrader.grades && formgrader.grades.loaded"
                           " && formgrader.comments && formgrader.comments.loaded && MathJax.loaded", timeout=60_000)
    shown = {"text": page.inner_text("body"), "outside": list(page.outside),
             "math": page.locator("mjx-container").count(), "errors": list(page.errors)}
    # one box at a time, as a grader types: the score, then the comment (each saved when it loses focus)
    for box, value in ((f"input.score#{WRITTEN}", "1.5"), (f"textarea#{WRITTEN}-comment", COMMENT)):
        page.fill(box, value)
        page.press(box, "Tab")
        deadline = time.monotonic() + 30
        while not _saved(out)[box.startswith("textarea")]:
            assert time.monotonic() < deadline, f"formgrader did not save {box}: {_saved(out)}"
            time.sleep(0.3)
    page.close()

    page = _offline_page(browser, f"{url}/formgrader/manage_assignments", login)
    row = page.locator("tr", has_text=NAME)
    row.locator("td.num-submissions a").wait_for(timeout=60_000)
    shown["row"] = row.inner_text()
    row.locator("td.generate-feedback a").click()
    page.wait_for_selector("#success-modal, #error-modal", timeout=120_000)
    shown["generate"] = page.locator(".modal").first.inner_text()
    page.locator(".modal-footer button", has_text="OK").first.click()
    page.wait_for_selector(".modal", state="detached", timeout=10_000)
    row = page.locator("tr", has_text=NAME)
    row.locator("td.release-feedback a").wait_for(timeout=60_000)
    row.locator("td.release-feedback a").click()
    page.wait_for_selector("#success-modal, #error-modal", timeout=60_000)
    shown["release"] = page.locator(".modal").first.inner_text()
    page.close()
    return shown


def test_the_output_folder_is_a_formgrader_course(server, graded_by_hand):
    _, log = server
    text = log.read_text()
    assert "Unwritable directory" not in text and "No nbgrader_config.py" not in text, text[-3000:]
    row = graded_by_hand["row"]
    assert re.search(r"\breleased\b", row) and re.search(r"\b3\b", row), row  # status and "# Submissions"


def test_formgrader_shows_the_students_names(course, graded_by_hand):
    _, out = course
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:  # what formgrader lists as "last, first"
        zoe = gb.find_student("Zoe_Muller")
        assert (zoe.last_name, zoe.first_name) == ("Müller", "Zoë")
        assert gb.find_student("ada").last_name == "ada"  # no name known: the id, never "None, None"


def test_the_grader_sees_the_rubric_and_typeset_math_offline(graded_by_hand):
    assert "For the grader only" in graded_by_hand["text"]
    assert graded_by_hand["math"] > 0 and graded_by_hand["outside"] == []
    assert graded_by_hand["errors"] == []  # formgrade.js works with MathJax 3 (its MathJax 2 "End" signal)


def test_formgraders_feedback_buttons_are_safe(course, graded_by_hand):
    _, out = course
    assert "Successfully generated feedback" in graded_by_hand["generate"], graded_by_hand["generate"]
    assert "pdl-grade does not use nbgrader's exchange" in graded_by_hand["release"], graded_by_hand["release"]
    generated = out / "feedback" / "ada" / NAME / f"{NAME}.html"
    assert generated.is_file() and "hidden tests: their source is not shown" in generated.read_text()
    assert not (out / "exchange").exists()


def test_export_and_feedback_show_the_manual_grade_and_nothing_hidden(course, graded_by_hand, browser):
    _, out = course
    pdl_grade("export", "--out", str(out))
    assert scores(out)["ada"][:2] == (15.5, 16.0)  # 14 autograded + 1.5 by hand
    pdl_grade("feedback", "--out", str(out))
    ours = out / "feedback" / "ada" / f"{NAME}.html"
    for page in (ours, out / "feedback" / "ada" / NAME / f"{NAME}.html"):
        text = page.read_text()
        assert re.search(r"15\.5\s*/\s*16", text), page
        assert COMMENT in text
    hidden, model = _hidden_lines(), _model_answer()
    pages = [p for p in out.rglob("*.html")]
    assert len(pages) >= 4
    for page in pages:
        text = page.read_text()
        leaked = [line for line in hidden if line in text]
        assert not leaked and model not in text and "For the grader only" not in text, (page, leaked[:3])
    _assert_nothing_hidden_anywhere(out)
    view = _offline_page(browser, ours.as_uri())
    view.wait_for_selector("mjx-container", timeout=60_000)
    assert view.outside == []
    view.close()


def _strings(value) -> list[str]:
    """Every string in parsed JSON (a stored result or notebook), unescaped."""
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [text for item in items for text in _strings(item)]


def _assert_nothing_hidden_anywhere(out: Path) -> None:
    """No file under the output folder, whatever it is, holds a hidden test line or a hidden check's detail."""
    hidden = [*_hidden_lines(), "BEGIN HIDDEN TESTS"]
    detail = re.compile(r"hidden check \d+ `")  # the instructor's message quotes the hidden probe and expectation
    files = [p for p in out.rglob("*") if p.is_file()]
    parts = {p.relative_to(out).parts[0] for p in files}
    assert {"source", "results", "gradebook.db", "autograded", "feedback", "release"} <= parts, parts
    for path in files:
        text = path.read_bytes().decode("utf-8", "replace")  # the gradebook's SQLite pages too
        try:
            text += "\n".join(_strings(json.loads(text)))  # JSON escapes quotes and newlines
        except ValueError:
            pass
        assert not [line for line in hidden if line in text] and not detail.search(text), path
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:  # test cells as the student version has them
        student = {c.metadata.nbgrader["grade_id"]: c for c in read_nb(out / "release" / NAME / f"{NAME}.ipynb").cells
                   if "nbgrader" in c.metadata}
        for cell in gb.find_notebook(NAME, NAME).source_cells:
            assert (cell.source, cell.checksum) == (student[cell.name].source,
                                                    student[cell.name].metadata.nbgrader["checksum"]), cell.name


def test_a_rerun_keeps_the_manual_grade_and_its_graded_state(course, graded_by_hand):
    folder, out = course
    pdl_grade("grade", NAME, str(folder), "--out", str(out))
    _assert_nothing_hidden_anywhere(out)
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        grade = gb.find_grade(WRITTEN, NAME, NAME, "ada")
        assert (grade.manual_score, grade.needs_manual_grade) == (1.5, False)
        assert gb.find_comment(WRITTEN, NAME, NAME, "ada").manual_comment == COMMENT
    assert scores(out)["ada"][:2] == (15.5, 16.0)


def test_lms_names_become_nbgraders_first_and_last_names():
    assert names("Jane Doe", "12345") == {"first_name": "Jane", "last_name": "Doe"}
    assert names("Müller, Max", "x") == {"first_name": "Max", "last_name": "Müller"}
    assert names("", "12345") == {"first_name": "", "last_name": "12345"}
