"""python -m bench --size ci|section|full: grade one generated class with nbgrader and with pdl-grade, side by side.

pdl-grade grades the class twice, before and after nbgrader, and its rate is the mean of the
two. Exit status 0 only when both graders gave every submission the same score in every
cell; speed goals are reported (JSON and Markdown in bench/results/), not enforced.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import nbformat

from autograder.backends.local import threads_per_worker
from autograder.model import default_workers

from . import classes, compare, nbgrader_anchor, pdl_run, report

ROOT = Path(__file__).resolve().parent.parent
SIZES = {
    "ci": {"ex01_logistic_regression": 30, "ex05_keras_banknote": 4},
    "section": {"ex01_logistic_regression": 60},  # a section-sized class: the fixed start-up still shows here
    "full": {"ex01_logistic_regression": 200, "ex05_keras_banknote": 40},
}


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _warm_up() -> None:
    """Read the libraries both graders import into the page cache, so neither pays for the first cold start."""
    subprocess.run([sys.executable, "-c", "import numpy, scipy, nbgrader.api, nbclient, ipykernel, jupyter_client"],
                   env=nbgrader_anchor.env(), check=False)


def skip_reason(name: str) -> str | None:
    if not (ROOT / "solutions" / name / f"{name}.ipynb").is_file():
        return f"solutions/{name} does not exist yet"
    if not (ROOT / "tests" / "cases" / f"{name}.py").is_file():
        return f"tests/cases/{name}.py (its correct answers and typical mistakes) does not exist yet"
    return None


def run_one(name: str, n: int, seed: int, workers: int, work: Path) -> dict:
    """Generate, grade with both, compare: the figures for one assignment."""
    print(f"[bench] {name}: generating {n} submissions (seed {seed})", file=sys.stderr)
    course = work / name / "nbgrader"
    released = nbgrader_anchor.make_course(course, ROOT / "solutions" / name, name)
    solution = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
    members = classes.make_class(name, n, seed, nbformat.read(released, as_version=4), solution, course / "submitted")
    _warm_up()
    load = {"before_pdl_grade": _load()}
    print(f"[bench] {name}: pdl-grade grade --workers {workers}", file=sys.stderr)
    pdl = pdl_run.grade(ROOT, name, course / "submitted", work / name / "pdl-out", workers)
    load["after_pdl_grade"] = _load()
    print(f"[bench] {name}: pdl-grade {pdl.wall_seconds:.1f} s; a sample alone (1 worker)", file=sys.stderr)
    solo = pdl_run.alone(ROOT, name, course / "submitted", work / name / "pdl-alone",
                         threads=threads_per_worker(workers))
    print(f"[bench] {name}: nbgrader autograde", file=sys.stderr)
    anchor = nbgrader_anchor.autograde(course, name, [m.student_id for m in members])
    load["after_nbgrader"] = _load()
    print(f"[bench] {name}: nbgrader {anchor.wall_seconds:.1f} s; pdl-grade again", file=sys.stderr)
    # pdl-grade runs before and after nbgrader and the rate uses the mean of the two: a machine whose
    # speed drifts during the minutes nbgrader takes would otherwise move the ratio
    again = pdl_run.grade(ROOT, name, course / "submitted", work / name / "pdl-out-again", workers)
    load["after_pdl_grade_again"] = _load()
    print(f"[bench] {name}: pdl-grade {again.wall_seconds:.1f} s", file=sys.stderr)
    diffs = compare.differences(members, anchor, pdl)
    seen = {(d.student_id, d.grade_id) for d in diffs}  # a cell that differs in both runs counts once
    diffs += [d for d in compare.differences(members, anchor, again) if (d.student_id, d.grade_id) not in seen]
    return report.figures(name, members, anchor, pdl, solo, diffs, load, again)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--size", choices=sorted(SIZES), default="ci")
    p.add_argument("--only", action="append", help="only this assignment (repeatable)")
    p.add_argument("--n", type=int, help="submissions per assignment instead of the size's (for quick runs)")
    p.add_argument("--class", dest="classes", action="append", metavar="NAME=N",
                   help="grade this assignment with N submissions instead of the size's classes (repeatable)")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--workers", type=int, default=default_workers(),
                   help="pdl-grade workers (default: pdl-grade's own, one more than the cores: %(default)s here)")
    p.add_argument("--work", type=Path, help="scratch folder (default bench/out/<size>)")
    p.add_argument("--results", type=Path, default=ROOT / "bench" / "results", help="where <size>.json/.md go")
    args = p.parse_args(argv)
    work = (args.work or ROOT / "bench" / "out" / args.size).resolve()
    os.environ.setdefault("KERAS_BACKEND", "torch")
    out: dict = {"size": args.size, "seed": args.seed, "workers": args.workers, "machine": report.machine(ROOT),
                 "assignments": [], "skipped": []}
    plan = dict(SIZES[args.size])
    if args.classes:
        plan = {name: int(n) for name, _, n in (c.partition("=") for c in args.classes)}
    for name, n in plan.items():
        if args.only and name not in args.only:
            continue
        reason = skip_reason(name)
        if reason:
            print(f"[bench] skipping {name}: {reason}", file=sys.stderr)
            out["skipped"].append({"assignment": name, "reason": reason})
            continue
        out["assignments"].append(run_one(name, args.n or n, args.seed, args.workers, work))
    js, md = report.write(args.results, args.size, out)
    print(md.read_text())
    print(f"[bench] wrote {js} and {md}", file=sys.stderr)
    if not out["assignments"]:
        print("[bench] nothing was graded", file=sys.stderr)
        return 1
    failed = [r["assignment"] for r in out["assignments"] if not r["scores_identical"]]
    if failed:
        print(f"[bench] FAILED: nbgrader and pdl-grade disagree on {', '.join(failed)} (see the table above)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
