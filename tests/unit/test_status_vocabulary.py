"""One status vocabulary: ``autograder.model.Status``. No module of the grader or the bench spells a status as a
string literal, so a renamed or added status cannot be missed in one place (issue 16, item 3).

The check reads the sources' syntax trees, not their text: a word in a comment, a docstring, a log
message or the CSV header ``status`` is not a status; a string literal equal to a status value anywhere
else is (a comparison, an assignment, an argument, a set or dict member, a subscript, ``Status("...")``).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from autograder.model import Status

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["autograder", "bench"]
DEFINED_IN = "autograder/model.py"  # the one place the values are written

# (file, value): why a literal spelled like a status is not one. A stale entry fails the test too.
ALLOWED = {
    ("bench/classes.py", "invalid_json"): "a kind of broken submission the bench generates (a label, like 'kernel_dies')",
    ("bench/classes.py", "empty_file"): "a kind of broken submission the bench generates (a label, like 'blank')",
}


def status_literals(source: str) -> list[tuple[int, str]]:
    """(line, value) of every string literal in ``source`` that equals a status value and is not a docstring
    or a piece of an f-string."""
    values = {s.value for s in Status}
    tree = ast.parse(source)
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skip.add(id(first.value))  # a docstring
        if isinstance(node, ast.JoinedStr):
            skip.update(id(part) for part in node.values)  # the text between an f-string's fields
    return sorted((node.lineno, node.value) for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in values
                  and id(node) not in skip)


def sources() -> list[Path]:
    return sorted(p for folder in SOURCES for p in (ROOT / folder).rglob("*.py")
                  if p.relative_to(ROOT).as_posix() != DEFINED_IN)


def test_no_module_spells_a_status_as_a_string() -> None:
    found, used = [], set()
    for path in sources():
        name = path.relative_to(ROOT).as_posix()
        for line, value in status_literals(path.read_text(encoding="utf-8")):
            if (name, value) in ALLOWED:
                used.add((name, value))
            else:
                found.append(f"{name}:{line}: {value!r}: use Status.{Status(value).name}")
    assert not found, "status literals outside autograder/model.py:\n" + "\n".join(found)
    assert used == set(ALLOWED), f"stale ALLOWED entries: {sorted(set(ALLOWED) - used)}"


def test_the_scan_covers_the_grader_and_the_bench() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in sources()}
    assert {"autograder/grade.py", "autograder/runtime/execute.py", "autograder/backends/ray.py",
            "autograder/recorder.py", "bench/compare.py", "bench/pdl_run.py"} <= names
    assert DEFINED_IN not in names and len(status_literals((ROOT / DEFINED_IN).read_text())) == len(Status)


@pytest.mark.parametrize("code", [
    'if result["status"] == "missing":\n    pass\n',
    'execution.error = "timeout"\n',
    'Execution(cells=[], error="grader_error")\n',
    'failed = status in {"kernel_died", "kernel_failed"}\n',
    'status = Status("graded")\n',
    'row = {"status": "not_in_roster"}\n',
    'counts["wrong_name"] += 1\n',
])
def test_a_status_literal_is_found(code: str) -> None:
    assert status_literals(code), code


@pytest.mark.parametrize("code", [
    'COLUMNS = ["student_id", "score", "status"]\n',  # the CSV header, not a status
    'def f():\n    """Return graded or missing."""\n    return 1\n',
    '"""timeout"""\n',  # a module docstring that happens to be one word
    'log.info(f"{name}: timeout after {s} s")\n',
    'message = "the notebook timed out (timeout)"\n',
    'status = Status.TIMEOUT  # "timeout" in a comment\n',
    'print(f"{x}missing")\n',
])
def test_words_that_are_not_statuses_are_not_flagged(code: str) -> None:
    assert status_literals(code) == [], code
