"""Per-assignment validation cases: typical wrong answers and differently written right ones.

Each module ``exNN_*.py`` defines ``MISTAKES`` and ``CORRECT``. A mistake names the test
cells it must lose (exactly those: the function's own tests, plus the tests of functions
that call it, which are listed as such); a correct variant must get full marks.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    label: str
    answers: dict[str, str]  # solution grade_id -> the student's source
    lost: frozenset[str] = field(default_factory=frozenset)  # test grade_ids that must score 0
