"""Per student and per grade cell: nbgrader's score against pdl-grade's. Any difference fails the bench."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from autograder.model import Status

from .classes import Member
from .nbgrader_anchor import AnchorRun
from .pdl_run import PdlRun


@dataclass(frozen=True)
class Difference:
    student_id: str
    kind: str
    label: str
    grade_id: str
    nbgrader: float | None  # None: no such cell in that grader's output
    pdl_grade: float | None
    nbgrader_processed: bool  # False: nbgrader could not grade the notebook at all (it counts as 0)
    pdl_status: Status | None  # None: no row for the student in pdl-grade's grades.csv
    cause: str  # the likeliest reason, from what each grader recorded; a hint for the reader, not an excuse

    def row(self) -> dict:
        return asdict(self)


def differences(members: list[Member], anchor: AnchorRun, pdl: PdlRun) -> list[Difference]:
    found = []
    for m in members:
        ours = anchor.scores.get(m.student_id, {})
        theirs = pdl.scores.get(m.student_id, {})
        for gid in sorted(set(ours) | set(theirs)):
            a, b = ours.get(gid), theirs.get(gid)
            if a is None or b is None or abs(a - b) > 1e-9:
                status = pdl.status.get(m.student_id)
                found.append(Difference(m.student_id, m.kind, m.label, gid, a, b, m.student_id in anchor.processed,
                                        status, cause(m.student_id, gid, anchor, status)))
    return found


def cause(student: str, grade_id: str, anchor: AnchorRun, pdl_status: Status | None) -> str:
    if pdl_status is Status.KERNEL_FAILED:
        return "pdl-grade's kernel did not start (a grader-side failure; the student's code never ran)"
    if student not in anchor.processed and pdl_status is Status.KERNEL_DIED:
        return "the kernel died: nbgrader fails the whole notebook, pdl-grade keeps the cells run before the crash"
    if student not in anchor.processed:
        return "nbgrader could not process the notebook at all"
    if (student, grade_id) in anchor.stderr_cells:
        return "the test cell wrote to stderr (a warning): nbgrader gives such a cell 0"
    if (student, grade_id) in anchor.ungraded:
        return ("nbgrader has no score for this cell: it leaves a test cell that is missing from the notebook at 0 "
                "for manual grading; pdl-grade restores the cell and grades it")
    return "unexplained"


def totals(members: list[Member], scores: dict[str, dict[str, float]]) -> dict[str, float]:
    return {m.student_id: sum(scores.get(m.student_id, {}).values()) for m in members}
