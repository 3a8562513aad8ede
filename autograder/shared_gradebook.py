"""nbgrader's gradebook preprocessors, on a Gradebook that stays open for the whole batch.

Each of nbgrader's OverwriteCells, OverwriteKernelspec, SaveAutoGrades and GetGrades opens
and closes its own Gradebook per notebook (engine, schema inspection, create_all: ~50 ms),
and each asks the gradebook a query or two per cell. Here the same classes run their own
per-cell code on one open Gradebook per thread (SQLite connections are not shared between
threads), in WAL mode with synchronous=NORMAL (a crash can lose the last commits, but the
gradebook is rebuilt from the stored results on every run, results.py), against views that
load what they ask for once: the assignment's source cells per batch (SourceView), a
student's grade and comment rows per notebook (SubmissionRows).
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbgrader.api import BaseCell, Comment, Grade, Gradebook, MissingEntry
from nbgrader.preprocessors import GetGrades, OverwriteCells, OverwriteKernelspec, SaveAutoGrades
from sqlalchemy import text
from sqlalchemy.orm import undefer

from .course import course_id, ensure_alembic_on_path

_local = threading.local()


def gradebook(db_url: str) -> Gradebook:
    """This thread's open Gradebook for ``db_url``."""
    books = _local.__dict__.setdefault("books", {})
    if db_url not in books:
        ensure_alembic_on_path()
        gb = Gradebook(db_url, course_id())
        with gb.engine.connect() as conn:
            conn.execute(text("PRAGMA journal_mode=WAL"))
        gb.db.execute(text("PRAGMA synchronous=NORMAL"))
        books[db_url] = gb
    return books[db_url]


def close_all() -> None:
    _local.__dict__.pop("views", None)
    for gb in _local.__dict__.pop("books", {}).values():
        gb.close()


def _ids(resources: ResourcesDict) -> tuple[str, str, Gradebook]:
    info = resources["nbgrader"]
    return info["notebook"], info["assignment"], gradebook(info["db_url"])


@dataclass(frozen=True)
class CellRecord:
    """The attributes of a gradebook cell that OverwriteCells reads, copied out of the ORM."""

    name: str
    cell_type: str = ""
    locked: bool = False
    checksum: str | None = None
    source: str = ""
    max_score: float = 0.0


@dataclass(frozen=True)
class NotebookRecord:
    source_cells: list[CellRecord]
    grade_cells: list[CellRecord]
    solution_cells: list[CellRecord]
    task_cells: list[CellRecord]
    kernelspec: str | None


class SourceView:
    """The assignment's cells of one notebook, read from the gradebook once per batch.

    They are the cells as released: the gradebook holds no hidden test (release.py); the grader
    runs a test cell's hidden checks from its plan, made from solutions/ (plans.py).

    OverwriteCells asks the gradebook two ORM queries per cell (~2 ms each); the source
    of an assignment does not change while a batch runs, so the answers are kept. It
    offers the Gradebook methods OverwriteCells calls, with the same MissingEntry.
    """

    def __init__(self, gb: Gradebook, notebook: str, assignment: str):
        nb = gb.find_notebook(notebook, assignment)
        self.key = (notebook, assignment)
        self.notebook = NotebookRecord(
            [CellRecord(c.name, c.cell_type, bool(c.locked), c.checksum, c.source) for c in nb.source_cells],
            [CellRecord(c.name, c.cell_type, max_score=float(c.max_score)) for c in nb.grade_cells],
            [CellRecord(c.name) for c in nb.solution_cells],
            [CellRecord(c.name, c.cell_type, max_score=float(c.max_score)) for c in nb.task_cells],
            nb.kernelspec)
        self._source = {c.name: c for c in self.notebook.source_cells}
        self._graded = {c.name: c for c in self.notebook.task_cells}
        self._graded.update({c.name: c for c in self.notebook.grade_cells})  # nbgrader looks at grade cells first

    def _check(self, notebook: str, assignment: str) -> None:
        if (notebook, assignment) != self.key:
            raise MissingEntry(f"not in this view: {assignment}/{notebook}")

    def find_notebook(self, notebook: str, assignment: str) -> NotebookRecord:
        self._check(notebook, assignment)
        return self.notebook

    def find_source_cell(self, name: str, notebook: str, assignment: str) -> CellRecord:
        self._check(notebook, assignment)
        if name not in self._source:
            raise MissingEntry(f"No such source cell: {assignment}/{notebook}/{name}")
        return self._source[name]

    def find_graded_cell(self, name: str, notebook: str, assignment: str) -> CellRecord:
        self._check(notebook, assignment)
        if name not in self._graded:
            raise MissingEntry(f"No such graded cell: {assignment}/{notebook}/{name}")
        return self._graded[name]


def source_view(resources: ResourcesDict) -> SourceView:
    """This thread's SourceView of the notebook that ``resources`` names."""
    notebook, assignment, gb = _ids(resources)
    views = _local.__dict__.setdefault("views", {})
    key = (resources["nbgrader"]["db_url"], notebook, assignment)
    if key not in views:
        views[key] = SourceView(gb, notebook, assignment)
    return views[key]


class SharedOverwriteCells(OverwriteCells):
    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        self.notebook_id, self.assignment_id, _ = _ids(resources)
        self.gradebook = source_view(resources)
        nb, resources = super(OverwriteCells, self).preprocess(nb, resources)
        if self.add_missing_cells:
            nb, resources = self.add_missing_grade_cells(nb, resources)
            nb, resources = self.add_missing_task_cells(nb, resources)
        return nb, resources


class SharedOverwriteKernelspec(OverwriteKernelspec):
    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        notebook_id, assignment_id, _ = _ids(resources)
        kernelspec = source_view(resources).find_notebook(notebook_id, assignment_id).kernelspec
        if kernelspec:
            nb.metadata["kernelspec"] = json.loads(kernelspec)
        return nb, resources


class SubmissionRows:
    """One student's notebook as SaveAutoGrades and GetGrades see the gradebook.

    They ask for each cell's grade and comment row one query at a time, and SaveAutoGrades
    commits after every cell (~2 ms each, 20 per notebook). Here the rows come in two
    queries (with the grades' max scores for GetGrades), and ``db.commit`` is left to the
    caller, which commits the notebook once.
    """

    def __init__(self, gb: Gradebook, notebook: str, assignment: str, student: str, max_scores: bool = False):
        self.key = (notebook, assignment, student)
        self.notebook = gb.find_submission_notebook(notebook, assignment, student)
        grades = gb.db.query(BaseCell.name, Grade).join(Grade, Grade.cell_id == BaseCell.id)
        if max_scores:  # GetGrades reads each grade's max_score, a deferred column: one query per cell
            grades = grades.options(undefer(Grade.max_score))
        self.grades = dict(grades.filter(Grade.notebook_id == self.notebook.id).all())
        self.comments = dict(gb.db.query(BaseCell.name, Comment).join(Comment, Comment.cell_id == BaseCell.id)
                             .filter(Comment.notebook_id == self.notebook.id).all())
        self.db = self

    def commit(self) -> None:
        """SaveAutoGrades' per-cell commit: a no-op; the caller commits the whole notebook."""

    def _row(self, rows: dict, kind: str, name: str, key: tuple[str, str, str]):
        if key != self.key or name not in rows:
            raise MissingEntry(f"No such {kind}: {key[1]}/{key[2]}/{key[0]}/{name}")
        return rows[name]

    def find_submission_notebook(self, notebook: str, assignment: str, student: str):
        return self._row({"": self.notebook}, "submitted notebook", "", (notebook, assignment, student))

    def find_grade(self, grade_cell: str, notebook: str, assignment: str, student: str) -> Grade:
        return self._row(self.grades, "grade", grade_cell, (notebook, assignment, student))

    def find_comment(self, solution_cell: str, notebook: str, assignment: str, student: str) -> Comment:
        return self._row(self.comments, "comment", solution_cell, (notebook, assignment, student))


class SharedSaveAutoGrades(SaveAutoGrades):
    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        self.notebook_id, self.assignment_id, gb = _ids(resources)
        self.student_id = resources["nbgrader"]["student"]
        self.db_url = resources["nbgrader"]["db_url"]
        self.gradebook = SubmissionRows(gb, self.notebook_id, self.assignment_id, self.student_id)
        try:
            nb, resources = super(SaveAutoGrades, self).preprocess(nb, resources)
        except BaseException:
            gb.db.rollback()
            raise
        gb.db.commit()  # the notebook's scores together, or none of them
        return nb, resources

    def _add_score(self, cell: NotebookNode, resources: ResourcesDict) -> None:
        """nbgrader's, except that a grade a grader reviewed stays reviewed when the result is unchanged.

        nbgrader marks every grade with a manual score "needs manual grading" again, which is
        right for a new submission; a rerun records the same results again, and must not undo
        formgrader's work.
        """
        if not resources["nbgrader"].get("unchanged"):
            return super()._add_score(cell, resources)
        grade = self.gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"], self.notebook_id,
                                          self.assignment_id, self.student_id)
        reviewed = grade.manual_score is not None and not grade.needs_manual_grade
        super()._add_score(cell, resources)
        if reviewed:
            grade.needs_manual_grade = False


class SharedGetGrades(GetGrades):
    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        self.notebook_id, self.assignment_id, gb = _ids(resources)
        gb.db.rollback()  # end any earlier read: see what the writer has committed since
        self.student_id = resources["nbgrader"]["student"]
        self.db_url = resources["nbgrader"]["db_url"]
        self.gradebook = SubmissionRows(gb, self.notebook_id, self.assignment_id, self.student_id, max_scores=True)
        nb, resources = super(GetGrades, self).preprocess(nb, resources)
        notebook = self.gradebook.notebook
        penalty = notebook.late_submission_penalty or 0
        resources["nbgrader"].update(score=notebook.score - penalty, max_score=notebook.max_score,
                                     late_penalty=penalty)
        return nb, resources
