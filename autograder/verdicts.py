"""Hidden tests without in-kernel verdicts.

A test cell is made of setup statements and ``check(probe, **expectations)`` calls.
``plan`` splits every test cell of an assignment once: the kernel gets the setup and
one ``emit_all`` per run of consecutive checks (it computes the probes and returns plain JSON); the
expectations are evaluated here, in the trusted process. ``judge`` compares.
Student code therefore never sees expected values, and cannot swallow, skip or
rewrite a comparison: a check passes only if its probe value arrived and matched.
"""
from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from nbformat import NotebookNode

from pdl.checks import CheckFailed, Outcome, calling, check
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


@dataclass
class CellVerdict:
    grade_id: str
    passed: bool
    messages: list[str]  # for the instructor: full detail
    public_messages: list[str]  # for the student: no hidden inputs or expected values


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
    kernel_lines = [f"from pdl.probe import emit_all as {EMIT}"]
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


def judge(plan: TestPlan, outcomes: dict[str, list[Outcome]]) -> CellVerdict:
    """All checks of a cell must pass; a missing or duplicated probe value fails."""
    messages, public = [], []
    for number, item in enumerate(plan.checks, start=1):
        label = f"{'hidden ' if item.hidden else ''}check {number}"
        got = outcomes.get(item.probe_id, [])
        if len(got) != 1:
            why = "did not run" if not got else "reported more than one value (tampering?)"
            messages.append(f"{label} `{item.probe_source}`: {why}")
            public.append(f"{label}: {why}" if item.hidden else messages[-1])
            continue
        try:
            check(got[0], **item.expect)
        except CheckFailed as exc:
            messages.append(f"{label} `{item.probe_source}`: {exc}")
            public.append(f"{label}: {exc.public}" if item.hidden else messages[-1])
        except Exception as exc:  # noqa: BLE001 (a value the comparison cannot handle)
            messages.append(f"{label} `{item.probe_source}`: cannot compare ({type(exc).__name__}: {exc})")
            public.append(f"{label}: the value has the wrong type")
    return CellVerdict(plan.grade_id, not messages, messages, public)


def redact_hidden(source: str) -> str:
    """A test cell's source with its hidden block replaced by a note (for feedback)."""
    return re.sub(rf"{re.escape(BEGIN_HIDDEN)}.*?{re.escape(END_HIDDEN)}",
                  "# (hidden tests: their source is not shown)", source, flags=re.S)


def verdict_outputs(passed: bool, messages: list[str]) -> list[NotebookNode]:
    """A test cell's outputs as nbgrader scores them: plain stdout passes, an error fails.

    Built directly: nbformat's ``new_output`` validates each one against the schema (~1 ms).
    """
    if passed:
        return [NotebookNode(output_type="stream", name="stdout", text="All checks passed.\n")]
    return [NotebookNode(output_type="error", ename="CheckFailed", evalue="; ".join(messages),
                         traceback=list(messages))]
