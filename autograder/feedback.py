"""Per-student HTML feedback, rendered by nbgrader's feedback template, minus hidden tests.

Before rendering, each test cell's hidden block is replaced by a note and its output
by the student-safe verdict messages: no hidden-test source, hidden inputs or
expected values reach the student (formgrader.RedactFeedback, which formgrader's own
"Generate Feedback" runs too). Math is typeset by MathJax from the output folder. No HTML
or JavaScript of the student's runs in the page: Markdown and outputs are cleaned as in
formgrader (formgrader.clean_html, SafeOutputs, nbconvert's ``sanitize_html``).
"""
from __future__ import annotations

import functools
import html
import os
import re
from pathlib import Path
from typing import Any, Iterator

import nbformat
import nbgrader
from jinja2 import DictLoader, pass_context
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.exporters.exporter import ResourcesDict
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from traitlets.config import Config

from .formgrader import MATHJAX_MACRO, RedactFeedback, SafeOutputs, clean_html
from .plans import is_test_cell
from .shared_gradebook import SharedGetGrades
from .verdicts import redact_hidden, verdict_outputs

_FORMGRADER = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader")
_TEMPLATES = os.path.join(_FORMGRADER, "templates")
_CSS = os.path.join(_FORMGRADER, "static", "node_modules", "bootstrap", "dist", "css")


def redact(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``nb`` with hidden test source and verdict details replaced, in place (callers pass a copy).

    Idempotent: the verdict's public part stays in the cell's metadata, so a redacted notebook
    (autograded/, which formgrader's Generate Feedback reads) redacts to the same page.
    """
    for cell in nb.cells:
        if is_test_cell(cell):
            cell.source = redact_hidden(cell.source)
            verdict = cell.metadata.get("pdl", {})
            cell.metadata["pdl"] = {"public_messages": verdict.get("public_messages"), "passed": verdict.get("passed")}
            cell.outputs = verdict_outputs(bool(verdict.get("passed")), verdict.get("public_messages") or ["failed"])
    return nb


_IMG_WITHOUT_ALT = re.compile(r"<img (?![^>]*\balt=)")


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTMLExporter for nbgrader's feedback template, made cheap for a class of similar notebooks.

    HTMLExporter re-parses each page with BeautifulSoup to give images alt text and
    JupyterLab cells tab stops: 45% of a render. The feedback template is the classic one,
    with no JupyterLab cells, so only the alt text is added, to the ``<img`` tags that the
    template writes. Highlighted code and rendered Markdown are cached by their input:
    most cells are the same in every student's notebook. Its preprocessors run on the copy
    that ``Exporter.from_notebook_node`` makes, not on two more, and the notebook is not
    normalized and validated again: it is the grader's graded notebook (a submission that
    nbformat validated at intake, with outputs from nbclient and the verdicts; the tests
    validate it), redacted (a fifth of a render).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # MathJax from the output folder, not a CDN (formgrader.MATHJAX_MACRO replaces nbconvert's macro)
        self.extra_loaders = [DictLoader({"mathjax.html.j2": MATHJAX_MACRO}), *self.extra_loaders]
        # a student's page never runs their HTML or JavaScript, whatever the configuration says
        self.sanitize_html = True
        if not any(isinstance(p, SafeOutputs) for p in self._preprocessors):
            self.register_preprocessor(SafeOutputs, enabled=True)

    def default_filters(self) -> Iterator[tuple[str, Any]]:
        yield from super().default_filters()
        yield ("clean_html", clean_html)  # nbconvert's would escape the <p>, <th> of rendered Markdown

    def _preprocess(self, nb: nbformat.NotebookNode, resources: dict[str, Any]) -> tuple[Any, Any]:
        for preprocessor in self._preprocessors:
            nb, resources = preprocessor(nb, resources)
        return nb, resources

    def from_notebook_node(self, nb: nbformat.NotebookNode, resources: dict[str, Any] | None = None,
                           **kw: Any) -> tuple[str, dict[str, Any]]:
        langinfo = nb.metadata.get("language_info", {})
        resources = self._init_resources(resources)
        self.register_filter("highlight_code", _highlighter(langinfo.get("pygments_lexer", langinfo.get("name"))))
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        body, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return _IMG_WITHOUT_ALT.sub('<img alt="An output of this cell" ', body), resources

    @pass_context
    def markdown2html(self, context: Any, source: str) -> str:
        cell = context.get("cell", {})
        if cell.get("attachments"):
            return clean_html(super().markdown2html(context, source))
        return _markdown(self, source, context.get("resources", {}).get("metadata", {}).get("path", ""))


@functools.lru_cache(maxsize=2048)
def _markdown(exporter: FeedbackExporter, source: str, path: str) -> str:
    return clean_html(HTMLExporter.markdown2html(exporter, {"cell": {}, "resources": {"metadata": {"path": path}}},
                                                 source))


@functools.lru_cache(maxsize=8)
def _highlighter(lexer: str | None):
    highlight = Highlight2HTML(pygments_lexer=lexer)

    @functools.lru_cache(maxsize=4096)
    def cached(source: str, language: str | None, magics: str | None) -> str:
        return highlight(source, language, {"magics_language": magics} if magics else None)

    def highlight_code(source: str, language: str | None = None, metadata: dict | None = None) -> str:
        return cached(source, language, (metadata or {}).get("magics_language"))

    return highlight_code


@functools.lru_cache(maxsize=1)
def _exporter() -> FeedbackExporter:
    """One exporter per process: its Jinja templates compile once (0.6 s), not once per student."""
    config = Config()
    config.HTMLExporter.template_name = "feedback"
    config.HTMLExporter.extra_template_basedirs = [_TEMPLATES]
    config.HTMLExporter.extra_template_paths = [_CSS]  # the template inlines bootstrap.min.css
    return FeedbackExporter(config=config)


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
    nb = nbformat.from_dict(result["notebook"])
    nb.metadata["pdl"] = {"status": result["status"], "message": result["message"]}
    nb, _ = RedactFeedback().preprocess(nb, ResourcesDict())  # as formgrader's Generate Feedback does
    resources = ResourcesDict(nbgrader={"db_url": db_url, "assignment": assignment, "notebook": assignment,
                                        "student": student})
    nb, resources = SharedGetGrades().preprocess(nb, resources)
    nb, resources = _css().preprocess(nb, resources)
    body, _ = _exporter().from_notebook_node(nb, resources=resources)
    path.write_text(body, encoding="utf-8")
    return path
