"""Put the instructor's cells back, as nbgrader's autograde does, and say what was changed.

nbgrader's sanitizing preprocessors do the work (ClearOutput, DeduplicateIds,
OverwriteKernelspec, OverwriteCells with add_missing_cells, CheckCellMetadata; the two
that read the gradebook through shared_gradebook's open one);
this module only adds the report of what a student deleted or edited.
"""
from __future__ import annotations

import difflib

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbgrader import utils
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


def restore(nb: NotebookNode, db_url: str, assignment: str, notebook: str) -> NotebookNode:
    """Run nbgrader's sanitize preprocessors against the gradebook's source cells."""
    resources = ResourcesDict(nbgrader={"db_url": db_url, "assignment": assignment, "notebook": notebook})
    for pp in (ClearOutput(), DeduplicateIds(), SharedOverwriteKernelspec(),
               SharedOverwriteCells(add_missing_cells=True), CheckCellMetadata()):
        nb, resources = pp.preprocess(nb, resources)
    return nbformat.from_dict(nb)  # cells added back by OverwriteCells are plain dicts
