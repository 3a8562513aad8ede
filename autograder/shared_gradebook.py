"""nbgrader's gradebook preprocessors, on a Gradebook that stays open for the whole batch.

Each of nbgrader's OverwriteCells, OverwriteKernelspec, SaveAutoGrades and GetGrades opens
and closes its own Gradebook per notebook (engine, schema inspection, create_all: ~50 ms),
and SaveAutoGrades commits once per cell, an fsync each. Here the same classes run their
own per-cell code on one open Gradebook per thread (SQLite connections are not shared
between threads), in WAL mode with synchronous=NORMAL: a crash can lose the last commits,
but the gradebook is rebuilt from the stored results on every run (results.py).
"""
from __future__ import annotations

import json
import threading

from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.preprocessors import GetGrades, OverwriteCells, OverwriteKernelspec, SaveAutoGrades
from sqlalchemy import text

from .course import COURSE_ID, ensure_alembic_on_path

_local = threading.local()


def gradebook(db_url: str) -> Gradebook:
    """This thread's open Gradebook for ``db_url``."""
    books = _local.__dict__.setdefault("books", {})
    if db_url not in books:
        ensure_alembic_on_path()
        gb = Gradebook(db_url, COURSE_ID)
        with gb.engine.connect() as conn:
            conn.execute(text("PRAGMA journal_mode=WAL"))
        gb.db.execute(text("PRAGMA synchronous=NORMAL"))
        books[db_url] = gb
    return books[db_url]


def close_all() -> None:
    for gb in _local.__dict__.pop("books", {}).values():
        gb.close()


def _ids(resources: ResourcesDict) -> tuple[str, str, Gradebook]:
    info = resources["nbgrader"]
    return info["notebook"], info["assignment"], gradebook(info["db_url"])


class SharedOverwriteCells(OverwriteCells):
    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        self.notebook_id, self.assignment_id, self.gradebook = _ids(resources)
        nb, resources = super(OverwriteCells, self).preprocess(nb, resources)
        if self.add_missing_cells:
            nb, resources = self.add_missing_grade_cells(nb, resources)
            nb, resources = self.add_missing_task_cells(nb, resources)
        return nb, resources


class SharedOverwriteKernelspec(OverwriteKernelspec):
    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        notebook_id, assignment_id, gb = _ids(resources)
        kernelspec = gb.find_notebook(notebook_id, assignment_id).kernelspec
        if kernelspec:
            nb.metadata["kernelspec"] = json.loads(kernelspec)
        return nb, resources


class SharedSaveAutoGrades(SaveAutoGrades):
    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        self.notebook_id, self.assignment_id, self.gradebook = _ids(resources)
        self.student_id = resources["nbgrader"]["student"]
        self.db_url = resources["nbgrader"]["db_url"]
        return super(SaveAutoGrades, self).preprocess(nb, resources)


class SharedGetGrades(GetGrades):
    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        self.notebook_id, self.assignment_id, self.gradebook = _ids(resources)
        self.gradebook.db.rollback()  # end any earlier read: see what the writer has committed since
        self.student_id = resources["nbgrader"]["student"]
        self.db_url = resources["nbgrader"]["db_url"]
        nb, resources = super(GetGrades, self).preprocess(nb, resources)
        notebook = self.gradebook.find_submission_notebook(self.notebook_id, self.assignment_id, self.student_id)
        penalty = notebook.late_submission_penalty or 0
        resources["nbgrader"].update(score=notebook.score - penalty, max_score=notebook.max_score,
                                     late_penalty=penalty)
        return nb, resources
