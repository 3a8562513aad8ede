"""Planning: every test cell of an assignment split once, before any student code runs.

A test cell is made of setup statements and ``check(probe, **expectations)`` calls.
``plan_test_cell`` splits one: the kernel gets the setup and one ``emit_all`` per run of consecutive
checks (it computes the probes and returns plain JSON); the expectations are evaluated here, in the
trusted process, and kept in the plan for ``verdicts.judge``. Student code therefore never sees expected
values, and cannot swallow, skip or rewrite a comparison.
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from nbformat import NotebookNode
from nbgrader import utils

from pdl.checks import calling, check
from pdl.data import DataError

BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
EMIT = "__pdl_emit__"


class AuthoringError(ValueError):
    """A test cell the grader cannot split into probes and trusted expectations."""


@dataclass
class Check:
    probe_id: str
    hidden: bool
    probe_source: str
    expect: dict[str, Any]


@dataclass
class TestPlan:
    grade_id: str
    kernel_source: str
    checks: list[Check] = field(default_factory=list)

    @property
    def hidden(self) -> bool:
        return any(c.hidden for c in self.checks)


def _hidden_lines(source: str) -> set[int]:
    hidden, inside = set(), False
    for number, line in enumerate(source.splitlines(), start=1):
        if BEGIN_HIDDEN in line:
            inside = True
        elif END_HIDDEN in line:
            inside = False
        elif inside:
            hidden.add(number)
    return hidden


def _is_check(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name) and node.value.func.id == "check")


def _trusted_namespace() -> dict[str, Any]:
    return {"np": np, "math": math, "check": check, "calling": calling, "__builtins__": __builtins__}


def plan_test_cell(source: str, grade_id: str) -> TestPlan:
    """Split one test cell. Raises AuthoringError for what cannot be graded safely."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise AuthoringError(f"{grade_id}: test cell does not parse: {exc}") from exc
    hidden_lines = _hidden_lines(source)
    trusted = _trusted_namespace()
    kernel_lines = [f"from pdl.kernel.probe import emit_all as {EMIT}"]
    plan = TestPlan(grade_id=grade_id, kernel_source="")
    run: list[str] = []  # consecutive checks: one emit_all, flushed before any other statement

    def flush() -> None:
        if run:
            kernel_lines.append(f"{EMIT}([{', '.join(run)}])")
            run.clear()

    for node in tree.body:
        segment = ast.get_source_segment(source, node)
        if isinstance(node, ast.Assert):
            raise AuthoringError(f"{grade_id}: line {node.lineno}: use check(...) instead of assert, "
                                 "so that the verdict is made outside the student's kernel")
        if not _is_check(node):
            flush()  # a statement that raises must not lose the outcomes before it
            kernel_lines.append(segment)
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.Assign)):
                try:  # instructor code from the gradebook; statements that need student code stay kernel-only
                    exec(compile(ast.Module([node], []), f"<{grade_id}>", "exec"), trusted)  # noqa: S102 (instructor's)
                except DataError:
                    raise  # the course's data is missing: that, not the NameError it would lead to, is the cause
                except Exception:  # noqa: BLE001
                    for target in ast.walk(node):
                        if isinstance(target, ast.Name) and isinstance(target.ctx, ast.Store):
                            trusted.pop(target.id, None)
            continue
        call = node.value
        if len(call.args) != 1 or any(k.arg is None for k in call.keywords):
            raise AuthoringError(f"{grade_id}: line {node.lineno}: check() takes one probe and keyword expectations")
        probe_id = f"{grade_id}#{len(plan.checks)}"
        probe_source = ast.get_source_segment(source, call.args[0])
        expect = {}
        for keyword in call.keywords:
            expr = ast.get_source_segment(source, keyword.value)
            try:
                expect[keyword.arg] = eval(compile(expr, f"<{grade_id}>", "eval"), trusted)  # noqa: S307
            except Exception as exc:  # the instructor's expression: any error is an authoring error
                raise AuthoringError(f"{grade_id}: line {node.lineno}: expectation {keyword.arg}={expr} cannot be "
                                     f"evaluated by the grader ({type(exc).__name__}: {exc}); it may only use "
                                     "np, math, imports and assignments that do not call student code") from exc
        plan.checks.append(Check(probe_id, node.lineno in hidden_lines, probe_source, expect))
        run.append(f"({probe_id!r}, lambda: ({probe_source}))")
    flush()
    plan.kernel_source = "\n".join(kernel_lines) + "\n"
    return plan




def is_test_cell(cell: NotebookNode) -> bool:
    return utils.is_grade(cell) and not utils.is_solution(cell) and cell.cell_type == "code"


def plan_assignment(source: NotebookNode) -> dict[str, TestPlan]:
    """grade_id -> plan, for the instructor's notebook (hidden tests included)."""
    plans = {}
    for cell in source.cells:
        if is_test_cell(cell):
            grade_id = cell.metadata.nbgrader["grade_id"]
            if not grade_id.startswith("test_"):
                raise AuthoringError(f"test cell {grade_id!r}: grade ids of test cells start with 'test_'")
            plans[grade_id] = plan_test_cell(cell.source, grade_id)
    if not plans:
        raise AuthoringError("the notebook has no autograded test cells")
    return plans
