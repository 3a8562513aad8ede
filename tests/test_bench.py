"""The benchmark's machinery on a tiny class: generate, grade with nbgrader and pdl-grade, compare, report.

Speed goals are reported by ``make bench``, never asserted here; this checks that the
run is real (both graders executed the class), that the scores agree, and that the
comparison would notice if they did not.
"""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import nbformat
import pytest
from conftest import ROOT, read_nb, solution_path

if str(ROOT) not in sys.path:  # bench/ is a folder of the repo, not an installed package
    sys.path.insert(0, str(ROOT))
from bench import classes, compare, nbgrader_anchor, pdl_run

NAME = "ex01_logistic_regression"
N = 6


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    work, results = tmp_path_factory.mktemp("bench-work"), tmp_path_factory.mktemp("bench-results")
    proc = subprocess.run([sys.executable, "-m", "bench", "--size", "ci", "--only", NAME, "--n", str(N),
                           "--work", str(work), "--results", str(results)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    report = json.loads((results / "ci.json").read_text()) if (results / "ci.json").is_file() else None
    return proc, report, (results / "ci.md"), work / NAME


def test_both_graders_give_identical_scores(run):
    proc, report, _, _ = run
    assert report is not None, proc.stderr[-3000:]
    [figures] = report["assignments"]
    assert figures["differences"] == [] and figures["scores_identical"], json.dumps(figures["differences"], indent=1)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_report_has_the_figures(run):
    _, report, md, _ = run
    [r] = report["assignments"]
    assert r["submissions"] == N and sum(r["mix"].values()) == N and r["mix"]["broken"] >= 1
    for side in ("nbgrader", "pdl_grade"):
        assert r[side]["wall_seconds"] > 0 and r[side]["submissions_per_second"] > 0
        assert r[side]["student_code_seconds_per_submission"] > 0
    assert r["ratio"] == pytest.approx(r["pdl_grade"]["submissions_per_second"] / r["nbgrader"]["submissions_per_second"],
                                       rel=1e-2)
    assert r["pdl_grade"]["compute_seconds_present"] == N and r["pdl_grade"]["sandbox"]
    # the overhead subtracts the code's time measured alone, on a sample graded with one worker
    assert r["pdl_grade"]["alone_sample"]["submissions"] == 3
    assert 0 < r["pdl_grade"]["student_code_seconds_alone_per_submission"] < r["pdl_grade"]["core_seconds_per_submission"]
    assert r["pdl_grade"]["overhead_seconds_per_submission"] == pytest.approx(
        r["pdl_grade"]["core_seconds_per_submission"] - r["pdl_grade"]["student_code_seconds_alone_per_submission"],
        abs=2e-4)
    # every notebook that is a notebook was executed by nbgrader (the broken one here is unreadable JSON)
    assert r["nbgrader"]["notebooks_processed"] == N - r["labels"].get("invalid_json", 0)
    assert set(r["loadavg"]) == {"before_pdl_grade", "after_pdl_grade", "after_nbgrader", "after_pdl_grade_again"}
    # pdl-grade ran before and after nbgrader, with the same scores; its wall time is their mean
    runs = r["pdl_grade"]["runs_wall_seconds"]
    assert len(runs) == 2 and all(w > 0 for w in runs) and r["pdl_grade"]["runs_scores_identical"]
    assert r["pdl_grade"]["wall_seconds"] == pytest.approx(sum(runs) / 2, abs=2e-3)
    m = report["machine"]
    assert m["cpu_count"] >= 1 and m["python"].startswith("3.") and len(m["git_commit"]) == 40
    assert m["versions"]["nbgrader"]
    text = md.read_text()
    assert "| assignment | submissions |" in text and f"| {NAME} | {N} |" in text


def test_comparison_notices_a_changed_cell(run):
    """The real gradebook and CSVs of this run agree; change one cell and exactly that cell is reported."""
    _, report, _, folder = run
    members = [classes.Member(**m) for m in json.loads((folder / "nbgrader" / f"{NAME}-class.json").read_text())]
    students = [m.student_id for m in members]
    scores, ungraded = nbgrader_anchor.read_scores(folder / "nbgrader" / "gradebook.db", NAME, students)
    anchor = nbgrader_anchor.AnchorRun(1.0, 0, scores, set(students), ungraded=ungraded)
    pdl = pdl_run.PdlRun(1.0, 0, 2, *pdl_run.read_out(folder / "pdl-out", NAME))
    assert compare.differences(members, anchor, pdl) == []
    solved = next(m.student_id for m in members if m.kind == "correct")
    changed = dataclasses.replace(pdl, scores={**pdl.scores, solved: {**pdl.scores[solved], "test_sigmoid": 0.0}})
    [diff] = compare.differences(members, anchor, changed)
    assert (diff.student_id, diff.grade_id, diff.nbgrader, diff.pdl_grade) == (solved, "test_sigmoid", 1.0, 0.0)
    assert diff.cause == "unexplained"


def test_class_generation_is_seeded_and_mixed(tmp_path):
    released = read_nb(ROOT / "exercises" / NAME / f"{NAME}.ipynb")
    solution = nbformat.read(solution_path(NAME), as_version=4)
    first = classes.make_class(NAME, 50, 7, released, solution, tmp_path / "a")
    again = classes.make_class(NAME, 50, 7, released, solution, tmp_path / "b")
    assert first == again
    assert all((tmp_path / "a" / m.student_id / NAME / f"{NAME}.ipynb").read_bytes()
               == (tmp_path / "b" / m.student_id / NAME / f"{NAME}.ipynb").read_bytes() for m in first)
    counts = {k: sum(m.kind == k for m in first) for k in ("correct", "mistake", "broken")}
    assert counts == {"correct": 30, "mistake": 15, "broken": 5}
    assert {m.label for m in first if m.kind == "broken"} == set(list(classes.BROKEN)[:5])
    other = classes.make_class(NAME, 50, 8, released, solution, tmp_path / "c")
    assert [m.label for m in other] != [m.label for m in first]
