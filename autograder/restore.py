"""Put the instructor's cells back, as nbgrader's autograde does, and say what was changed.

nbgrader's sanitizing preprocessors do the work (ClearOutput, DeduplicateIds,
OverwriteKernelspec, OverwriteCells with add_missing_cells, CheckCellMetadata; the two
that read the gradebook through shared_gradebook's view of it);
this module only adds the report of what a student deleted or edited, and lets
CheckCellMetadata skip cells it has already passed. Locked and test cells come back as the
student version has them (the gradebook holds no hidden test: release.py); grade.py runs each
test cell's hidden checks from its plan.
"""
from __future__ import annotations

import difflib
import functools
import json

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.nbgraderformat import MetadataValidator, ValidationError
from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, DeduplicateIds

from .shared_gradebook import SharedOverwriteCells, SharedOverwriteKernelspec


def _locked_cells(nb: NotebookNode) -> dict[str, NotebookNode]:
    return {c.metadata.nbgrader["grade_id"]: c for c in nb.cells
            if "nbgrader" in c.metadata and c.metadata.nbgrader.get("grade_id")
            and (utils.is_locked(c) or utils.is_grade(c) and not utils.is_solution(c))}


def changes(submitted: NotebookNode, released: NotebookNode) -> list[str]:
    """Locked and test cells that the student deleted or edited (compared with the student version)."""
    theirs, ours = _locked_cells(submitted), _locked_cells(released)
    report = [f"cell {gid} was deleted and has been restored" for gid in ours if gid not in theirs]
    report += [f"cell {gid} was edited and has been restored" for gid, cell in ours.items()
               if gid in theirs and theirs[gid].source.strip() != cell.source.strip()]
    order = [gid for gid in theirs if gid in ours]
    expected = [gid for gid in ours if gid in theirs]
    if order != expected:  # nbgrader keeps the student's order; name the cells that left their place
        kept = set()
        for block in difflib.SequenceMatcher(a=order, b=expected, autojunk=False).get_matching_blocks():
            kept |= set(order[block.a:block.a + block.size])
        moved = ", ".join(gid for gid in order if gid not in kept)
        report.append(f"cell {moved} was moved; cells run in the submitted order")
    return report


class _RememberingValidator(MetadataValidator):
    """nbgrader's metadata validator, which skips a cell whose type and nbgrader metadata it has passed.

    Its jsonschema check recompiles the schema for every cell (~3 ms); a class's submissions
    repeat the same few dozen cells. Whatever it reads of a cell is in the key, so the verdict
    is the one a full check would give. The duplicate-id check still sees every cell.
    """

    passed: set[tuple[str, str]] = set()

    def validate_cell(self, cell: NotebookNode) -> None:
        if "nbgrader" not in cell.metadata:
            return
        key = (cell.cell_type, json.dumps(cell.metadata["nbgrader"], sort_keys=True, default=str))
        if key in self.passed:
            return
        super().validate_cell(cell)
        if len(self.passed) < 100_000:
            self.passed.add(key)


@functools.lru_cache(maxsize=1)
def _validator() -> _RememberingValidator:
    return _RememberingValidator()


class RememberingCheckCellMetadata(CheckCellMetadata):
    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        try:
            _validator().validate_nb(nb)
        except ValidationError as exc:  # nbgrader's message, with the reason
            raise ValidationError(f"Notebook failed to validate; the nbgrader metadata may be corrupted: "
                                  f"{exc.message if hasattr(exc, 'message') else exc}") from exc
        return nb, resources


def restore(nb: NotebookNode, db_url: str, assignment: str, notebook: str) -> NotebookNode:
    """Run nbgrader's sanitize preprocessors against the gradebook's source cells."""
    resources = ResourcesDict(nbgrader={"db_url": db_url, "assignment": assignment, "notebook": notebook})
    for pp in (ClearOutput(), DeduplicateIds(), SharedOverwriteKernelspec(),
               SharedOverwriteCells(add_missing_cells=True), RememberingCheckCellMetadata()):
        nb, resources = pp.preprocess(nb, resources)
    nb = nbformat.from_dict(nb)  # cells added back by OverwriteCells are plain dicts
    if (nb.nbformat, nb.nbformat_minor) >= (4, 5):  # ... and have no id, which nbformat 4.5 requires
        taken = {cell.get("id") for cell in nb.cells}
        for index, cell in enumerate(nb.cells):
            if "id" not in cell:
                cell.id = next(f"restored-{index}{suffix}" for suffix in ("", *range(len(taken) + 1))
                               if f"restored-{index}{suffix}" not in taken)
                taken.add(cell.id)
    return nb
