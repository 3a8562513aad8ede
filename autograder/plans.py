"""The grading plan of an assignment: every test cell split by ``verdicts.plan_test_cell``."""
from __future__ import annotations

from nbformat import NotebookNode
from nbgrader import utils

from .verdicts import AuthoringError, TestPlan, plan_test_cell


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
