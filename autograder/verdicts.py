"""Verdicts: a test cell's checks judged against the probe values its kernel returned.

The plan (``plans.plan_test_cell``) holds each check's probe and its expectations, evaluated in this
trusted process; ``judge`` compares: a check passes only if its probe value arrived, once, readable, and matched.
A hidden check's message for the student is ``CheckFailed.public`` (fixed text) with the check's case label.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from nbformat import NotebookNode

from pdl.checks import CheckFailed, Outcome, check

from .plans import BEGIN_HIDDEN, END_HIDDEN, TestPlan


UNREADABLE = object()  # stands for a probe value the decoder could not parse (pdl.kernel.probe.Unreadable)


@dataclass
class CellVerdict:
    grade_id: str
    passed: bool
    messages: list[str]  # for the instructor: full detail
    public_messages: list[str]  # for the student: no hidden inputs or expected values


def judge(plan: TestPlan, outcomes: dict[str, list[Outcome]]) -> CellVerdict:
    """All checks of a cell must pass; a missing or duplicated probe value fails."""
    messages, public = [], []
    for number, item in enumerate(plan.checks, start=1):
        label = f"{'hidden ' if item.hidden else ''}check {number}" + (f" ({item.case})" if item.case else "")
        got = outcomes.get(item.probe_id, [])
        if any(value is UNREADABLE for value in got):  # tampering: 0 for this check, never a grader error
            why = "sent a value the grader cannot read (tampering?)"
            messages.append(f"{label} `{item.probe_source}`: {why}")
            public.append(f"{label}: {why}" if item.hidden else messages[-1])
            continue
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
