"""Per-student HTML feedback, rendered by nbgrader's feedback template, minus hidden tests.

Before rendering, each test cell's hidden block is replaced by a note and its output
by the student-safe verdict messages: no hidden-test source, hidden inputs or
expected values reach the student.
"""
from __future__ import annotations

import copy
import functools
import html
import os
from pathlib import Path
from typing import Any

import nbformat
import nbgrader
from nbconvert.exporters import HTMLExporter
from nbconvert.exporters.exporter import ResourcesDict
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbformat.v4 import new_markdown_cell, new_output
from traitlets.config import Config

from .plans import is_test_cell
from .shared_gradebook import SharedGetGrades
from .verdicts import redact_hidden

_FORMGRADER = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader")
_TEMPLATES = os.path.join(_FORMGRADER, "templates")
_CSS = os.path.join(_FORMGRADER, "static", "node_modules", "bootstrap", "dist", "css")


def redact(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if is_test_cell(cell):
            cell.source = redact_hidden(cell.source)
            verdict = cell.metadata.pop("pdl", {})
            if verdict.get("passed"):
                cell.outputs = [new_output("stream", name="stdout", text="All checks passed.\n")]
            else:
                messages = verdict.get("public_messages") or ["failed"]
                cell.outputs = [new_output("error", ename="CheckFailed", evalue="; ".join(messages), traceback=messages)]
    return nb


@functools.lru_cache(maxsize=1)
def _exporter() -> HTMLExporter:
    """One exporter per process: its Jinja templates compile once (0.6 s), not once per student."""
    config = Config()
    config.HTMLExporter.template_name = "feedback"
    config.HTMLExporter.extra_template_basedirs = [_TEMPLATES]
    config.HTMLExporter.extra_template_paths = [_CSS]  # the template inlines bootstrap.min.css
    return HTMLExporter(config=config)


def feedback_path(out: Path, result: dict[str, Any]) -> Path:
    return out / "feedback" / result["student_id"] / f"{result['assignment']}.html"


@functools.lru_cache(maxsize=1)
def _css() -> CSSHTMLHeaderPreprocessor:
    return CSSHTMLHeaderPreprocessor()  # it caches the Pygments style sheet it generates


def write(out: Path, db_url: str, result: dict[str, Any]) -> Path:
    """Write ``feedback/<student>/<assignment>.html`` and return its path."""
    student, assignment = result["student_id"], result["assignment"]
    path = feedback_path(out, result)
    path.parent.mkdir(parents=True, exist_ok=True)
    if result["notebook"] is None:
        path.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(assignment)}</title>"
                        f"</head><body><h1>{html.escape(assignment)}: not graded</h1><p>Status: "
                        f"<b>{html.escape(result['status'])}</b></p><p>{html.escape(result['message'])}</p>"
                        "<p>Score: 0</p></body></html>", encoding="utf-8")
        return path
    nb = redact(nbformat.from_dict(result["notebook"]))
    if result["message"]:
        nb.cells.insert(0, new_markdown_cell(f"**Grader notes** ({result['status']}): {result['message']}"))
    resources = ResourcesDict(nbgrader={"db_url": db_url, "assignment": assignment, "notebook": assignment,
                                        "student": student})
    nb, resources = SharedGetGrades().preprocess(nb, resources)
    nb, resources = _css().preprocess(nb, resources)
    body, _ = _exporter().from_notebook_node(nb, resources=resources)
    path.write_text(body, encoding="utf-8")
    return path
