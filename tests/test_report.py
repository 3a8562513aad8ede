"""The class report end to end: an ex01 class graded by the real pdl-grade, then report.html, item_stats.csv and
similarity.csv from its output folder; the page in Chromium (Playwright with Debian's /usr/bin/chromium).

The class: tests/similarity_class.py (independent answers, two planted copies, two blank notebooks), two typical
mistakes (only that cell answered), a cut-off upload, a student whose answer carries HTML and script (and a copy of it), written answers for
two students, and a roster with one student who submitted nothing (a name with HTML in it).
"""
from __future__ import annotations

import csv
import os
import re
import statistics
import subprocess
from pathlib import Path

import nbformat
import numpy as np
import pytest
from conftest import BIN, pdl_grade, read_csv, solution_path, student_version_with, write_class
from similarity_class import BLANK, NAME, PLANTED, disguise, notebooks

from autograder import report
from autograder.plans import BEGIN_HIDDEN, END_HIDDEN
from autograder.similarity_calibration import CALIBRATION
from cases import ex01_logistic_regression as cases

CHROMIUM = os.environ.get("PDL_CHROMIUM", "/usr/bin/chromium")
XSS_SIGMOID = ("def sigmoid(z):\n    # </pre><script>alert(1)</script>\n    label = \"<img src=x onerror=alert(2)>\"\n"
               "    v = np.asarray(z, dtype=float)\n    return 0.5 * (1.0 + np.tanh(0.5 * v))\n")
XSS_ANSWERS = {"sigmoid": XSS_SIGMOID, "logit": "def logit(p):\n    return 2.0 * np.arctanh(2.0 * np.asarray(p) - 1.0)\n"}
ABSENT_NAME = "<b onmouseover=alert(3)>Eve</b> Absent"
WRITTEN = "The lines are parallel & the <em>band</em> narrows with larger weights."
MISTAKES = ["sigmoid_no_minus", "predict_no_bias"]


def has_report_command() -> bool:
    proc = subprocess.run([str(BIN / "pdl-grade"), "--help"], capture_output=True, text=True)
    return bool(re.search(r"\breport\b", proc.stdout))


def with_written_answers(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown" and meta.get("solution"):
            cell.source = WRITTEN
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    class_ = notebooks()
    for label in MISTAKES:
        case = next(c for c in cases.MISTAKES if c.label == label)
        class_[f"mistake_{label}"] = student_version_with(NAME, case.answers)  # only that cell answered
    class_["xss"] = student_version_with(NAME, XSS_ANSWERS)
    class_["copy_of_xss"] = student_version_with(NAME, {g: disguise(s) for g, s in XSS_ANSWERS.items()})
    for student in ("solution", "ind_masks"):
        class_[student] = with_written_answers(class_[student])
    folder = write_class(tmp_path_factory.mktemp("report-class"), NAME, class_)
    (folder / "cut_off").mkdir()
    text = nbformat.writes(class_["solution"])
    (folder / "cut_off" / f"{NAME}.ipynb").write_text(text[: len(text) // 2])
    roster = folder.parent / "roster.csv"
    with open(roster, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_id", "name"])
        writer.writerows([(s, s.replace("_", " ")) for s in sorted([*class_, "cut_off"])] + [("absent", ABSENT_NAME)])
    out = tmp_path_factory.mktemp("report-out")
    pdl_grade("grade", NAME, str(folder), "--out", str(out), "--roster", str(roster), "--workers", "2")
    report.write_report(out)
    return out


def page_text(out: Path) -> str:
    return (out / report.REPORT).read_text(encoding="utf-8")


def test_the_three_files_are_written(graded):
    for name in (report.REPORT, report.ITEM_STATS, report.SIMILARITY):
        assert (graded / name).stat().st_size > 100, name


def test_item_stats_agrees_with_grades_long(graded):
    """Every number of item_stats.csv recomputed here from grades.csv and grades_long.csv."""
    ran = {r["student_id"] for r in read_csv(graded / "grades.csv")
           if r["status"] in ("graded", "wrong_name", "not_in_roster")}
    long = read_csv(graded / "grades_long.csv")
    points: dict[str, dict[str, float]] = {}
    for r in long:
        if r["student_id"] in ran:
            points.setdefault(r["student_id"], {})[r["grade_id"]] = float(r["score"])
    stats = {r["grade_id"]: r for r in read_csv(graded / report.ITEM_STATS)}
    assert set(stats) == {r["grade_id"] for r in long}
    written = {g for g, r in stats.items() if r["cell_type"] == "written"}
    assert written and {r["cell_type"] for r in stats.values()} == {"public", "hidden", "written"}
    for grade_id, row in stats.items():
        top = float(next(r["max_score"] for r in long if r["grade_id"] == grade_id))
        students = sorted(points)
        if grade_id in written:  # only the graded ones: nbgrader's 0 for the blank answers; the written ones wait
            students = [s for s in students if s not in ("solution", "ind_masks")]
            assert int(row["waiting"]) == 2
        item = [points[s][grade_id] for s in students]
        rest = [sum(points[s].values()) - points[s][grade_id] for s in students]
        assert int(row["n"]) == len(students)
        assert float(row["max_points"]) == top
        assert float(row["mean_points"]) == pytest.approx(statistics.fmean(item), abs=1e-4)
        assert float(row["pass_rate"]) == pytest.approx(sum(x == top for x in item) / len(item), abs=1e-4)
        if len(set(item)) > 1 and len(set(rest)) > 1:
            assert float(row["discrimination"]) == pytest.approx(np.corrcoef(item, rest)[0, 1], abs=1e-4)
        else:
            assert row["discrimination"] == ""
    assert float(stats["test_sigmoid"]["pass_rate"]) < 1  # sigmoid_no_minus fails it


def test_similarity_csv_ranks_the_planted_copies_first(graded):
    rows = read_csv(graded / report.SIMILARITY)
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    planted = PLANTED | {frozenset({"xss", "copy_of_xss"})}
    pair = {frozenset({r["student_a"], r["student_b"]}): r for r in rows}
    assert {frozenset({r["student_a"], r["student_b"]}) for r in rows[:len(planted)]} == planted
    for key in planted:
        assert pair[key]["flagged"] == "true" and "sigmoid" in pair[key]["functions"]
    assert all(r["flagged"] == ("true" if float(r["score"]) >= CALIBRATION["threshold"] else "false") for r in rows)
    assert float(pair[BLANK]["score"]) == 0
    assert "cut_off" not in {r["student_a"] for r in rows} | {r["student_b"] for r in rows}


def test_the_page_shows_the_class(graded):
    text = page_text(graded)
    for heading in ("Scores", "Students per status", "Test cells and written answers", "Graded functions",
                    "Run time", "Slowest submissions", "Late and missing students",
                    "Written answers waiting for manual grading", "Similar submissions", "How to read a score"):
        assert f">{heading}" in text, heading
    assert text.count("<svg") == 4  # scores, pass rates, run time, similarity
    assert "invalid_json" in text and "missing" in text
    assert f"Highlighted threshold: {CALIBRATION['threshold']:.2f}" in text
    assert "<mark>" in text  # the planted copies' matching code
    # the typical mistake's public failure message, as the student sees it
    assert re.search(r"1× check \d+ `sigmoid\(", text)


def test_nothing_from_a_submission_runs_or_is_markup(graded):
    text = page_text(graded)
    assert "<script" not in text.lower() and "<img" not in text and "<b onmouseover" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text  # shown, escaped
    assert "&lt;img src=x onerror=alert(2)&gt;" in text
    assert "&lt;b onmouseover=alert(3)&gt;Eve&lt;/b&gt; Absent" in text  # the roster's name of the missing student
    without_namespaces = re.sub(r'xmlns(:\w+)?="[^"]*"', "", text)  # SVG's namespace names are not addresses
    assert "http://" not in without_namespaces and "https://" not in without_namespaces


def test_the_page_shows_no_hidden_test(graded):
    source = nbformat.read(solution_path(NAME), as_version=4)
    hidden = []
    for cell in source.cells:
        if BEGIN_HIDDEN in cell.source:
            block = cell.source.split(BEGIN_HIDDEN, 1)[1].split(END_HIDDEN, 1)[0]
            hidden += [line.strip() for line in block.splitlines() if len(line.strip()) > 12
                       and not line.strip().startswith("#")]
    assert len(hidden) > 10
    for name in (report.REPORT, report.ITEM_STATS, report.SIMILARITY):
        text = (graded / name).read_text(encoding="utf-8")
        for line in hidden:
            assert line not in text and line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") \
                not in text, (name, line)


def test_a_folder_that_is_not_a_grading_output(tmp_path):
    with pytest.raises(report.ReportError, match="not a grading output folder"):
        report.write_report(tmp_path)
    with pytest.raises(report.ReportError):
        report.write_report(tmp_path / "nothing-here")


def test_the_report_is_rewritten_the_same(graded, tmp_path):
    before = {n: (graded / n).read_bytes() for n in (report.ITEM_STATS, report.SIMILARITY)}
    report.write_report(graded)
    assert {n: (graded / n).read_bytes() for n in before} == before


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium (never a Playwright download)",
                    pytrace=False)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


def test_the_page_in_chromium(graded, browser):
    """Opened from disk: no console error, no request but the page itself, no dialog, the figures drawn."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems, requests = [], []
    page.on("console", lambda m: m.type in ("error", "warning") and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))
    page.on("request", lambda r: requests.append(r.url))
    url = (graded / report.REPORT).as_uri()
    page.goto(url, wait_until="load")
    assert problems == []
    assert requests == [url]
    figures = page.locator("svg.figure")
    assert figures.count() == 4
    for i in range(figures.count()):
        box = figures.nth(i).bounding_box()
        assert box and box["width"] > 200 and box["height"] > 100, (i, box)
        assert figures.nth(i).locator("path").count() > 10  # axes, ticks and text drawn as paths
    assert page.locator("mark").count() > 0
    assert page.locator("script").count() == 0
    page.close()


@pytest.mark.skipif(not has_report_command(), reason="pdl-grade report is not wired yet (/work/notes/report_cli.patch)")
def test_the_command_line(graded, tmp_path):
    """pdl-grade report --out DIR; a folder that is not a grading output is one line, exit 2; export refreshes it."""
    proc = pdl_grade("report", "--out", str(graded))
    assert str(graded / report.REPORT) in " ".join(proc.stdout.split() + proc.stderr.split())
    bad = pdl_grade("report", "--out", str(tmp_path), check=False)
    assert bad.returncode == 2 and "not a grading output folder" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    # a written answer graded in formgrader (nbgrader's gradebook), then export: the report no longer waits for it
    from nbgrader.api import Gradebook

    from autograder.course import COURSE_ID

    written = [r["grade_id"] for r in read_csv(graded / report.ITEM_STATS) if r["cell_type"] == "written"]
    with Gradebook(f"sqlite:///{graded / 'gradebook.db'}", COURSE_ID) as gb:
        for grade_id in written:
            grade = gb.find_grade(grade_id, NAME, NAME, "solution")
            grade.manual_score = 1
            grade.needs_manual_grade = False
        gb.db.commit()
    pdl_grade("export", "--out", str(graded))
    stats = {r["grade_id"]: r for r in read_csv(graded / report.ITEM_STATS)}
    assert all(stats[g]["waiting"] == "1" for g in written)  # ind_masks still waits; the solution student does not
