"""Per student and per grade cell: nbgrader's score against pdl-grade's. Any difference fails the bench."""
from __future__ import annotations

from dataclasses import asdict, dataclass

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
    pdl_status: str

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
                found.append(Difference(m.student_id, m.kind, m.label, gid, a, b, m.student_id in anchor.processed,
                                        pdl.status.get(m.student_id, "absent")))
    return found


def totals(members: list[Member], scores: dict[str, dict[str, float]]) -> dict[str, float]:
    return {m.student_id: sum(scores.get(m.student_id, {}).values()) for m in members}
