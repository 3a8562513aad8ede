"""The similarity check's highlighted threshold, measured on the course's own independent correct answers.

``python -m bench.similarity_calibration`` prints the measurement; ``--write`` stores it in
autograder/similarity_calibration.py (tests/test_similarity.py recomputes it and compares).

Independent answers: per assignment, the instructor's solution and each differently written right answer of
``tests/cases/<assignment>.py`` (CORRECT), which the exercise validation grades at full marks. Each answer set is
one author. A pair of authors is compared on the graded code cells where their answers differ in author (a
variant's cells that it does not write are the solution's, and those are left out: they are the same code, not
independent). Each pair is scored by ``autograder.similarity.compare``, the same rule that scores a class.

The rule: the threshold is the highest independent pair's score plus a margin of 0.10, rounded up to 0.05. Its
false-positive rate is the share of independent pairs at or above it: of whole answer sets (what the report
flags), and, stricter, of single cells scored alone.
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import pprint
from pathlib import Path

import nbformat

from autograder import similarity

from .classes import load_cases, solution_answers

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "autograder" / "similarity_calibration.py"
MARGIN = 0.10
HEADER = '''"""The similarity check's calibration (written by ``python -m bench.similarity_calibration --write``; do not edit).

kgram: copydetect's noise threshold (characters of normalised code); min_chars: a pair with less answer code than
this (per student) counts as having this much; threshold: the score the report highlights, measured on the course's
independent correct answers (see bench/similarity_calibration.py), with its false-positive rate on them.
"""
'''


def assignments() -> list[str]:
    return sorted(p.stem for p in (ROOT / "tests" / "cases").glob("ex*.py")
                  if (ROOT / "solutions" / p.stem / f"{p.stem}.ipynb").is_file())


def authors(name: str) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """(starter cells, author -> grade_id -> own answer) of one assignment."""
    released = nbformat.read(ROOT / "exercises" / name / f"{name}.ipynb", as_version=4)
    solution = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
    starter = similarity.code_answer_cells(released)
    answers = solution_answers(solution)
    found = {"solution": {g: answers[g] for g in starter if g in answers}}
    for case in load_cases(name).CORRECT:
        found[case.label] = {g: s for g, s in case.answers.items() if g in starter}
    return starter, found


def independent_pairs(settings: similarity.Settings) -> tuple[list[dict], list[dict]]:
    """(answer-set pairs, single-cell pairs), each with its score."""
    sets, cells = [], []
    for name in assignments():
        starter, found = authors(name)
        for a, b in itertools.combinations(sorted(found), 2):
            def author(who: str, g: str) -> str:
                return who if g in found[who] else "solution"

            own = [g for g in starter if g in found["solution"] and author(a, g) != author(b, g)]
            pick = {who: {g: found[who].get(g, found["solution"][g]) for g in own} for who in (a, b)}
            if not own:
                continue
            [pair] = similarity.compare(pick, {g: starter[g] for g in own}, settings)
            sets.append({"assignment": name, "a": a, "b": b, "cells": own, "score": pair.score})
            for g in own:
                [one] = similarity.compare({who: {g: pick[who][g]} for who in (a, b)}, {g: starter[g]}, settings)
                cells.append({"assignment": name, "cell": g, "a": a, "b": b, "score": one.score})
    return sets, cells


def measure(kgram: int = 25, min_chars: int = 100) -> dict:
    settings = similarity.Settings(kgram=kgram, min_chars=min_chars, threshold=math.inf)
    sets, cells = independent_pairs(settings)
    top = max(sets, key=lambda p: p["score"])
    threshold = math.ceil(round((top["score"] + MARGIN) / 0.05, 6)) * 0.05
    over_sets = sum(p["score"] >= threshold for p in sets)
    over_cells = sum(p["score"] >= threshold for p in cells)
    top_cell = max(cells, key=lambda p: p["score"])
    return {
        "kgram": kgram,
        "min_chars": min_chars,
        "threshold": round(threshold, 2),
        "measured_on": f"{len(sets)} pairs of independent correct answer sets ({len(cells)} pairs of single cells) "
                       f"of {len(assignments())} assignments: the solution and tests/cases CORRECT",
        "highest_independent": {k: top[k] for k in ("assignment", "a", "b", "score")},
        "highest_independent_cell": {k: top_cell[k] for k in ("assignment", "cell", "a", "b", "score")},
        "false_positive_rate": round(over_sets / len(sets), 4),
        "false_positive_rate_cells": round(over_cells / len(cells), 4),
        "false_positive_upper_95": round(3 / len(sets), 4),  # the rule of three for 0 of n
        "pairs": len(sets),
        "cell_pairs": len(cells),
        "rule": f"highest independent pair + {MARGIN:.2f}, rounded up to 0.05",
    }


def render(calibration: dict) -> str:
    return HEADER + "\nCALIBRATION = " + pprint.pformat(calibration, width=116, sort_dicts=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.similarity_calibration", description=__doc__.splitlines()[0])
    p.add_argument("--write", action="store_true", help=f"store it in {TARGET.relative_to(ROOT)}")
    args = p.parse_args(argv)
    calibration = measure()
    print(json.dumps(calibration, indent=1))
    if args.write:
        TARGET.write_text(render(calibration))
        print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
