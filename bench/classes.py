"""A seeded, realistic class of submissions: 60% correct, 30% typical mistakes, 10% broken.

Correct answers are the instructor's solution and the differently written CORRECT
variants of ``tests/cases/<assignment>.py``; mistakes are its MISTAKES (one, sometimes
two at once); broken ones are files and notebooks that a real deadline brings. Every
notebook starts from the released student version, as a student's would.
"""
from __future__ import annotations

import copy
import importlib
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Callable

import nbformat
from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parent.parent
SHARES = {"correct": 0.6, "mistake": 0.3, "broken": 0.1}
OBSERVATION = ("The three lines are parallel; they only move apart or together. Larger weights bring them closer, "
               "so the network is more sure of itself.")


@dataclass(frozen=True)
class Member:
    """One generated submission: who, which kind, and which answer it is (for the report)."""

    student_id: str
    kind: str  # correct | mistake | broken
    label: str


def load_cases(name: str) -> ModuleType | None:
    """``tests/cases/<name>.py`` (MISTAKES, CORRECT), or None when it does not exist yet."""
    if not (ROOT / "tests" / "cases" / f"{name}.py").is_file():
        return None
    tests = str(ROOT / "tests")
    if tests not in sys.path:  # the package ``cases`` as pytest sees it, so both share one module
        sys.path.insert(0, tests)
    return importlib.import_module(f"cases.{name}")


def _grade_id(cell: NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def solution_answers(solution: NotebookNode) -> dict[str, str]:
    """grade_id -> instructor source of every code solution cell (markdown answers are written separately)."""
    return {_grade_id(c): _unmarked(c.source) for c in solution.cells
            if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}


def _unmarked(source: str) -> str:
    """The solution as a student would type it: without nbgrader's BEGIN/END SOLUTION lines."""
    return "".join(line for line in source.splitlines(keepends=True)
                   if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def answered(released: NotebookNode, answers: dict[str, str]) -> NotebookNode:
    """The released notebook with some solution cells filled in, as a student would."""
    nb = copy.deepcopy(released)
    for cell in nb.cells:
        if _grade_id(cell) in answers:
            cell.source = answers[_grade_id(cell)]
    return nb


def _write_answer(nb: NotebookNode, rng: random.Random) -> None:
    """Most students write something in the markdown answers; some leave them blank."""
    if rng.random() < 0.8:
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "markdown" and meta.get("solution"):
                cell.source = OBSERVATION


# Broken submissions: each takes (released, instructor answers, rng) and returns the file's bytes.
def _dumps(nb: NotebookNode) -> bytes:
    return nbformat.writes(nb).encode()


def _some_function(answers: dict[str, str], rng: random.Random) -> str:
    return rng.choice(sorted(g for g, s in answers.items() if s.lstrip().startswith(("def ", "import ", "from "))
                             or "\ndef " in s) or sorted(answers))


def broken_syntax_error(released: NotebookNode, answers: dict[str, str], rng: random.Random) -> bytes:
    gid = _some_function(answers, rng)
    bad = dict(answers, **{gid: answers[gid].replace("):", ")", 1) if "):" in answers[gid] else answers[gid] + "\n)"})
    return _dumps(answered(released, bad))


def broken_raises_at_import(released: NotebookNode, answers: dict[str, str], rng: random.Random) -> bytes:
    gid = _some_function(answers, rng)
    bad = dict(answers, **{gid: "import my_helpers  # a module on the student's laptop only\n" + answers[gid]})
    return _dumps(answered(released, bad))


def broken_deleted_tests(released: NotebookNode, answers: dict[str, str], rng: random.Random) -> bytes:
    nb = answered(released, answers)
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    gone = {id(c) for c in rng.sample(tests, k=min(2, len(tests)))}
    nb.cells = [c for c in nb.cells if id(c) not in gone]
    return _dumps(nb)


def broken_blank(released: NotebookNode, answers: dict[str, str], rng: random.Random) -> bytes:
    return _dumps(released)


def broken_invalid_json(released: NotebookNode, answers: dict[str, str], rng: random.Random) -> bytes:
    data = _dumps(answered(released, answers))
    return data[: len(data) // 2]  # an upload cut off halfway


def broken_kernel_dies(released: NotebookNode, answers: dict[str, str], rng: random.Random) -> bytes:
    gid = _some_function(answers, rng)
    bad = dict(answers, **{gid: answers[gid] + "\nimport os\nos._exit(1)  # 'stop here'\n"})
    return _dumps(answered(released, bad))


def broken_empty_file(released: NotebookNode, answers: dict[str, str], rng: random.Random) -> bytes:
    return b""


BROKEN: dict[str, Callable[[NotebookNode, dict[str, str], random.Random], bytes]] = {
    # in this order, so that even a small class has the ones that matter most
    "invalid_json": broken_invalid_json,
    "kernel_dies": broken_kernel_dies,
    "syntax_error": broken_syntax_error,
    "deleted_tests": broken_deleted_tests,
    "raises_at_import": broken_raises_at_import,
    "blank": broken_blank,
    "empty_file": broken_empty_file,
}


def kinds(n: int) -> list[str]:
    """How many of each kind in a class of ``n``, by the shares above (broken at least 1 when n >= 5)."""
    broken = max(round(n * SHARES["broken"]), 1 if n >= 5 else 0)
    correct = round(n * SHARES["correct"])
    return ["correct"] * correct + ["mistake"] * (n - correct - broken) + ["broken"] * broken


def make_class(name: str, n: int, seed: int, released: NotebookNode, solution: NotebookNode,
               dest: Path) -> list[Member]:
    """Write ``n`` submissions into nbgrader's ``dest/<student>/<name>/<name>.ipynb`` layout."""
    cases = load_cases(name)
    if cases is None:
        raise FileNotFoundError(f"tests/cases/{name}.py does not exist")
    rng = random.Random(f"{name}:{seed}")
    answers = solution_answers(solution)
    correct = [("solution", {})] + [(c.label, c.answers) for c in cases.CORRECT]
    order = kinds(n)
    rng.shuffle(order)
    members: list[Member] = []
    broken_names = list(BROKEN)
    for i, kind in enumerate(order):
        student = f"s{i + 1:03d}"
        if kind == "correct":
            label, extra = rng.choice(correct)
            nb = answered(released, {**answers, **extra})
            _write_answer(nb, rng)
            data = _dumps(nb)
        elif kind == "mistake":
            picked = rng.sample(cases.MISTAKES, k=2 if rng.random() < 0.25 else 1)
            if len(picked) == 2 and set(picked[0].answers) & set(picked[1].answers):
                picked = picked[:1]  # two mistakes in one cell: keep the first
            label = "+".join(c.label for c in picked)
            nb = answered(released, {**answers, **{k: v for c in picked for k, v in c.answers.items()}})
            _write_answer(nb, rng)
            data = _dumps(nb)
        else:
            label = broken_names[sum(m.kind == "broken" for m in members) % len(broken_names)]
            data = BROKEN[label](released, answers, rng)
        folder = dest / student / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.ipynb").write_bytes(data)
        members.append(Member(student, kind, label))
    (dest.parent / f"{name}-class.json").write_text(json.dumps([m.__dict__ for m in members], indent=1))
    return members
