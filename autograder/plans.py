"""Planning: every test cell of an assignment split once, before any student code runs.

A test cell is made of setup statements and ``check(probe, **expectations)`` calls.
``plan_test_cell`` splits one: the kernel gets the setup and one ``emit_all`` per run of consecutive
checks (it computes the probes and returns plain JSON); the expectations are evaluated here, in the
trusted process, and kept in the plan for ``verdicts.judge``. Student code therefore never sees expected
values, and cannot swallow, skip or rewrite a comparison.

A hidden block (``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS``) is planned apart: its statements and
checks are ``hidden_source``, which the kernel runs after the student's last cell, in a namespace of its own
(``hidden_cell``; ``pdl.kernel.probe.run_hidden_all``). Where the cell stands, the kernel runs its public part and
takes a snapshot of the student's names for it. So no student code runs after a hidden check with access to
what it did (its globals, IPython's history, the arguments it passed), and what the checks print is dropped.

``check(..., case="...")`` labels a check (pdl.checks' docstring): a string literal, kept in the plan and
shown in the verdict, never sent to the kernel.
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


SNAPSHOT = "__pdl_snapshot__"


@dataclass
class Check:
    probe_id: str
    hidden: bool
    probe_source: str
    expect: dict[str, Any]
    case: str | None = None  # the instructor's label of the case, shown in the verdict


@dataclass
class TestPlan:
    grade_id: str
    kernel_source: str  # runs where the cell stands
    checks: list[Check] = field(default_factory=list)
    hidden_source: str = ""  # the hidden blocks' statements and probes: run after the student's last cell

    @property
    def hidden(self) -> bool:
        return any(c.hidden for c in self.checks)



def hidden_cell(plans: list[TestPlan], seconds: int) -> str:
    """The source of the one cell, appended after the student's last, that runs these plans' hidden parts
    in order (``pdl.kernel.probe.run_hidden_all``), each with ``seconds`` of its own."""
    parts = [(p.grade_id, p.hidden_source) for p in plans if p.hidden_source]
    return f"__import__('pdl.kernel.probe', fromlist=['run_hidden_all']).run_hidden_all({parts!r}, {seconds})\n"


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
    header = f"from pdl.kernel.probe import emit_all as {EMIT}"
    public_lines, secret_lines = [header], [header]
    plan = TestPlan(grade_id=grade_id, kernel_source="")
    runs: dict[bool, list[str]] = {False: [], True: []}  # consecutive checks: one emit_all, flushed before
    # any other statement of the same part (public where the cell stands, hidden at the end)

    def flush(hidden: bool) -> None:
        run = runs[hidden]
        if run:
            (secret_lines if hidden else public_lines).append(f"{EMIT}([{', '.join(run)}])")
            run.clear()

    for node in tree.body:
        segment = ast.get_source_segment(source, node)
        hidden = node.lineno in hidden_lines
        if isinstance(node, ast.Assert):
            raise AuthoringError(f"{grade_id}: line {node.lineno}: use check(...) instead of assert, "
                                 "so that the verdict is made outside the student's kernel")
        if not _is_check(node):
            flush(hidden)  # a statement that raises must not lose the outcomes before it
            (secret_lines if hidden else public_lines).append(segment)
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
        expect, case = {}, None
        for keyword in call.keywords:
            if keyword.arg == "case":
                if not (isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, str)):
                    raise AuthoringError(f"{grade_id}: line {node.lineno}: case= takes a string literal "
                                         "(the label is shown to students as written)")
                case = keyword.value.value
                continue
            expr = ast.get_source_segment(source, keyword.value)
            try:
                expect[keyword.arg] = eval(compile(expr, f"<{grade_id}>", "eval"), trusted)  # noqa: S307
            except Exception as exc:  # the instructor's expression: any error is an authoring error
                raise AuthoringError(f"{grade_id}: line {node.lineno}: expectation {keyword.arg}={expr} cannot be "
                                     f"evaluated by the grader ({type(exc).__name__}: {exc}); it may only use "
                                     "np, math, imports and assignments that do not call student code") from exc
        plan.checks.append(Check(probe_id, hidden, probe_source, expect, case))
        runs[hidden].append(f"({probe_id!r}, lambda: ({probe_source}))")
    flush(False)
    flush(True)
    if len(secret_lines) > 1:
        plan.hidden_source = "\n".join(secret_lines) + "\n"
        public_lines[0] += f", snapshot as {SNAPSHOT}"
        public_lines.append(f"{SNAPSHOT}({grade_id!r})")
    plan.kernel_source = "\n".join(public_lines) + "\n"
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
