"""The output folder of ``pdl-grade grade`` as an nbgrader course that formgrader opens safely.

Formgrader is nbgrader's Jupyter server extension (``jupyter lab`` or ``jupyter server`` run in
the output folder, then ``/formgrader``). It reads ``nbgrader_config.py`` from the folder it is
started in; ``write_course`` puts one there that:

- names the course, its gradebook and its folders (source/, release/, submitted/, autograded/,
  feedback/), so formgrader lists the assignment with its submissions;
- replaces nbgrader's file exchange by ``NoExchange*`` classes (its public ``ExchangeFactory``
  settings): the assignment shows as released (students have it from the book or the LMS), and
  releasing, collecting or releasing feedback through formgrader ends in one clear message
  instead of a copy into a shared folder;
- makes formgrader's "Generate Feedback" write the same redacted feedback as ``pdl-grade
  feedback`` (``GenerateFeedback.preprocessors`` starts with ``RedactFeedback``, and
  ``GenerateFeedback.exporter_class`` is ours): no hidden test source, no expected values, no
  rubric;
- loads MathJax from the output folder's ``mathjax/`` (copied from the book's build), so math
  renders offline in formgrader and in the feedback; elsewhere the pages fall back to a CDN;
- runs no student HTML or JavaScript with the instructor's session: Markdown (which nbgrader's
  formgrade and feedback templates render unsanitized) and outputs pass through ``clean_html``
  (bleach, as nbconvert's ``sanitize_html``, with the tags Markdown renders), JavaScript outputs
  are dropped, output sizes are numbers, and MathJax's ``\\href``/``\\class`` are filtered (ui/safe).
"""
from __future__ import annotations

import functools
import html
import os
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import bleach
from bleach.css_sanitizer import CSSSanitizer
from jinja2 import pass_context
from nbconvert.exporters import HTMLExporter
from nbconvert.exporters.exporter import ResourcesDict
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from nbformat.v4 import new_markdown_cell
from nbgrader.exchange.abc import ExchangeCollect, ExchangeList, ExchangeReleaseAssignment, ExchangeReleaseFeedback
from nbgrader.preprocessors import NbGraderPreprocessor

from .course import course_id

MATHJAX_DIR = "mathjax"  # in the output folder; not hidden: Jupyter serves no hidden files
RUBRIC_MARK = "pdl_rubric"  # metadata.pdl key of the grader-only rubric cell in autograded/

NO_EXCHANGE = ("pdl-grade does not use nbgrader's exchange: students get the assignment from the course book or "
               "your LMS, and their feedback from `pdl-grade feedback --out {out}` (feedback/<student>/<assignment>"
               ".html, hidden tests removed), which you upload to the LMS. For a JupyterHub course with nbgrader's "
               "exchange, grade with --course COURSE_DIR: then nbgrader's release, collect and release_feedback "
               "work in that course")

# nbconvert's mathjax macro (templates/base/mathjax.html.j2), for MathJax 3 from the output folder:
# a feedback page finds it beside its feedback/ folder, formgrader's page under Jupyter's /files/.
# formgrade.js waits for MathJax 2's "End" signal (MathJax.Hub.Startup.signal.Interest) before it
# focuses the first score box; ``hub`` gives it that signal when MathJax 3 has typeset the page.
MATHJAX_MACRO = r"""{%- macro mathjax(url=None) -%}
<script>
(function () {
  var ended = false, listeners = [];
  var hub = {Startup: {signal: {Interest: function (listener) {
                if (ended) { listener("End"); } else { listeners.push(listener); } }}},
             Queue: function () {}, Config: function () {}};
  window.MathJax = {
    tex: {inlineMath: [["$", "$"], ["\\(", "\\)"]], displayMath: [["$$", "$$"], ["\\[", "\\]"]],
          processEscapes: true, processEnvironments: true},
    options: {ignoreHtmlClass: "tex2jax_ignore", processHtmlClass: "tex2jax_process"},
    loader: {load: ["ui/safe"]},  // \href{javascript:...}, \class, \style in a student's math: filtered
    Hub: hub,
    startup: {pageReady: function () {
      window.MathJax.Hub = hub;
      return window.MathJax.startup.defaultPageReady().then(function () {
        ended = true;
        listeners.splice(0).forEach(function (listener) { listener("End"); });
      });
    }}
  };
})();
(function () {
  var cdn = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js", local = null;
  if (typeof window.base_url === "string") {  // formgrader's page: Jupyter serves the output folder under /files/
    local = window.base_url.replace(/\/formgrader$/, "") + "/files/""" + MATHJAX_DIR + r"""/tex-chtml.js";
  } else if (/\/feedback\/[^?#]*$/.test(location.pathname)) {  // a feedback page inside the output folder
    local = location.href.replace(/\/feedback\/[^?#]*$/, "/""" + MATHJAX_DIR + r"""/tex-chtml.js");
  }
  function load(src, fallback) {
    var s = document.createElement("script");
    s.src = src; s.async = true;
    if (fallback) { s.onerror = function () { load(fallback, null); }; }
    document.head.appendChild(s);
  }
  load(local || cdn, local ? cdn : null);
})();
</script>
{%- endmacro %}
"""

CONFIG = '''# Written by pdl-grade (autograder/formgrader.py): this output folder is an nbgrader course.
# Start formgrader here:  jupyter lab   (then Nbgrader > Formgrader, or open /formgrader)
import os

import nbgrader
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import GetGrades

try:
    from autograder import formgrader
except ImportError as exc:  # fail closed: nbgrader's own feedback would show the hidden tests
    raise SystemExit(f"formgrader for this folder needs pdl-grade's Python environment ({{exc}}): start jupyter "
                     "from the course's virtual environment, e.g. .venv/bin/jupyter lab") from exc

c = get_config()  # noqa: F821 (nbgrader's config loader provides it)
here = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.root = here
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(here, "gradebook.db")
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# No nbgrader exchange: the assignment is released through the book or the LMS, feedback through
# `pdl-grade feedback` and the LMS. Formgrader's release, collect and release-feedback buttons say so.
c.ExchangeFactory.list = formgrader.NoExchangeList
c.ExchangeFactory.release_assignment = formgrader.NoExchangeReleaseAssignment
c.ExchangeFactory.collect = formgrader.NoExchangeCollect
c.ExchangeFactory.release_feedback = formgrader.NoExchangeReleaseFeedback

# Formgrader's "Generate Feedback": hidden tests, expected values and rubrics removed, as in pdl-grade feedback.
c.GenerateFeedback.preprocessors = [formgrader.RedactFeedback, GetGrades, CSSHTMLHeaderPreprocessor]
c.GenerateFeedback.exporter_class = formgrader.feedback_exporter_class()

# No student HTML or JavaScript runs here: outputs are sanitized (JavaScript dropped), and so is Markdown, which
# nbgrader's formgrade and feedback templates render without nbconvert's sanitizing (issue 22).
c.HTMLExporter.sanitize_html = True
c.HTMLExporter.filters = dict(markdown2html=formgrader.markdown2html, clean_html=formgrader.clean_html)
c.HTMLExporter.preprocessors = [formgrader.SafeOutputs]

# MathJax from ./{mathjax}/ (formgrader's own page: Jupyter's /files/{mathjax}/), not a CDN: nbconvert's
# "base" template's mathjax macro is replaced by ./{mathjax}/templates/base/mathjax.html.j2. This file is
# read after formgrader's own settings, so nbgrader's templates (formgrade, feedback) are named here too.
c.HTMLExporter.extra_template_basedirs = [
    os.path.join(here, {mathjax!r}, "templates"),
    os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader", "templates"),
]
'''


class NoExchangeList(ExchangeList):
    """Lists every assignment of release/ as released; refuses to remove one (formgrader's "unrelease")."""

    def start(self) -> list[dict]:
        if self.remove:
            self.fail(NO_EXCHANGE.format(out=self.coursedir.root))
        release = Path(self.coursedir.root) / self.coursedir.release_directory
        names = sorted(p.name for p in release.iterdir() if p.is_dir()) if release.is_dir() else []
        # `nbgrader list` prints only what the exchange logs: say what this folder is instead of nothing
        self.log.info("pdl-grade's output folder %s has no nbgrader exchange; released through the book or the LMS: %s",
                      self.coursedir.root, ", ".join(names) or "none yet")
        return [{"course_id": self.coursedir.course_id, "assignment_id": name, "status": "released",
                 "path": str(release / name), "notebooks": []} for name in names]


class NoExchangeReleaseAssignment(ExchangeReleaseAssignment):
    def start(self) -> None:
        self.fail(NO_EXCHANGE.format(out=self.coursedir.root))


class NoExchangeCollect(ExchangeCollect):
    def start(self) -> None:
        self.fail(NO_EXCHANGE.format(out=self.coursedir.root))


class NoExchangeReleaseFeedback(ExchangeReleaseFeedback):
    def start(self) -> None:
        self.fail(NO_EXCHANGE.format(out=self.coursedir.root))


class RedactFeedback(NbGraderPreprocessor):  # nbgrader's base: enabled when registered
    """What a student may see of a graded notebook: no rubric, no hidden tests, the grader's notes first.

    It runs on the notebooks of autograded/ (formgrader's "Generate Feedback") and in
    ``pdl-grade feedback``, so both write the same page.
    """

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        from .feedback import redact  # feedback imports this module

        nb.cells = [cell for cell in nb.cells if not cell.get("metadata", {}).get("pdl", {}).get(RUBRIC_MARK)]
        redact(nb)
        notes = nb.metadata.pop("pdl", {})
        if notes.get("message"):  # it quotes file names and grade ids the student chose: text, never markup
            nb.cells.insert(0, new_markdown_cell(f"**Grader notes** ({markdown_text(str(notes.get('status', '')))}): "
                                                 f"{markdown_text(str(notes['message']))}"))
        return nb, resources


# What a student's Markdown and outputs may render as: the tags Markdown and tables make, no script, no
# event handler, no frame, no form, no style sheet; links to http(s), mailto and anchors; images inline only.
SAFE_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "del", "details", "div",
    "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li",
    "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody",
    "td", "tfoot", "th", "thead", "tr", "u", "ul", "var"})
# Pygments' token classes and the renderer's own: no Bootstrap or formgrader class to fake the page's controls.
_SAFE_CLASS = re.compile(r"highlight|hl-[\w+-]+|anchor-link|[a-z]{1,3}[0-9]?")
_INLINE_IMAGE = re.compile(r"data:image/(?:png|jpeg|gif|webp|svg\+xml)[;,]")
_NUMBER = re.compile(r"[0-9]{1,5}")
_cleaners = threading.local()  # bleach's Cleaner is not thread-safe


def _compact(value: str) -> str:
    """An attribute value as a browser reads its scheme: no whitespace or control characters, lower case."""
    return re.sub(r"[\x00-\x20]+", "", value).lower()


def _safe_attribute(tag: str, name: str, value: str) -> bool:
    if name == "class":
        return all(_SAFE_CLASS.fullmatch(token) for token in value.split())
    if name in ("title", "alt"):
        return True
    if tag == "a":  # bleach then keeps only the allowed schemes
        return name == "href" and not _compact(value).startswith("data:")
    if tag == "img":
        return bool(_INLINE_IMAGE.match(_compact(value))) if name == "src" else \
            name in ("width", "height") and bool(_NUMBER.fullmatch(value))
    if tag in ("td", "th"):
        return name in ("style", "align") or name in ("colspan", "rowspan") and bool(_NUMBER.fullmatch(value))
    return tag == "ol" and name == "start" and bool(_NUMBER.fullmatch(value))


def clean_html(element: str | bytes) -> str:
    """nbconvert's ``clean_html`` filter (bleach) with the tags Markdown renders (its own escapes ``<p>``, ``<th>``).

    Disallowed markup is escaped, not dropped: the grader sees what the student wrote, as text.
    """
    cleaner = getattr(_cleaners, "cleaner", None)
    if cleaner is None:
        cleaner = _cleaners.cleaner = bleach.Cleaner(
            tags=SAFE_TAGS, attributes=_safe_attribute, protocols={"http", "https", "mailto", "data"},
            css_sanitizer=CSSSanitizer(allowed_css_properties=["text-align"]), strip=False, strip_comments=True)
    return cleaner.clean(element.decode() if isinstance(element, bytes) else str(element))


@pass_context
def markdown2html(context: Any, source: str) -> str:
    """nbconvert's Markdown filter, cleaned: the filter nbgrader's formgrade and feedback templates call unsanitized."""
    return clean_html(HTMLExporter.markdown2html(_markdown_exporter(), context, source))


@functools.lru_cache(maxsize=1)
def _markdown_exporter() -> HTMLExporter:
    return HTMLExporter()  # formgrader's exporter renders Markdown with nbconvert's defaults too


class SafeOutputs(Preprocessor):
    """Outputs as the sanitizing templates may show them: an image's width and height are numbers.

    nbconvert writes them unquoted into the ``<img>`` tag, so ``"1 onload=..."`` from a student's
    ``display(..., metadata=...)`` would be an event handler even with ``sanitize_html``.
    """

    enabled = True

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict, index: int) -> tuple[NotebookNode, Any]:
        for output in cell.get("outputs", []):
            metadata = output.get("metadata")
            if isinstance(metadata, dict):
                for meta in (metadata, *(m for m in metadata.values() if isinstance(m, dict))):
                    for key in ("width", "height"):
                        if key in meta and not _NUMBER.fullmatch(str(meta[key])):
                            del meta[key]
        return cell, resources


_MARKDOWN_PUNCTUATION = re.compile(r"([!\"#%'()*+,\-./:<=>?@\[\\\]^_`{|}~])")


def markdown_text(text: str) -> str:
    """Markdown that shows ``text`` as it is: no markup, no HTML, no math (``$`` shows as ``\\$``)."""
    escaped = html.escape(" ".join(text.split()), quote=False)
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", escaped).replace("$", r"\\\$")


def feedback_exporter_class() -> type:
    from .feedback import FeedbackExporter

    return FeedbackExporter


def _mathjax_source() -> Path | None:
    """MathJax 3 as the book's build installs it from npm (book/build.py), if it is here."""
    from .course import find_root

    for root in (find_root(), Path(__file__).resolve().parent.parent):
        es5 = root / "_build" / ".mathjax" / "node_modules" / "mathjax" / "es5"
        if (es5 / "tex-chtml.js").is_file():
            return es5
    return None


def _install_mathjax(out: Path) -> None:
    target = out / MATHJAX_DIR
    templates = target / "templates" / "base"
    templates.mkdir(parents=True, exist_ok=True)
    macro = templates / "mathjax.html.j2"
    if not macro.is_file() or macro.read_text() != MATHJAX_MACRO:
        macro.write_text(MATHJAX_MACRO)
    es5 = _mathjax_source()
    if es5 is None:
        return  # without a local copy, the pages load MathJax from the CDN
    # MATHJAX_MACRO loads ui/safe; TeX extensions (\cancel, \color, \href, ...) load when a formula uses them,
    # and one that cannot load stops the page's typesetting. A folder of an older pdl-grade lacks both.
    for part in (Path("ui") / "safe.js", Path("input") / "tex" / "extensions"):
        if not (target / part).exists():
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            tmp = target / part.parent / f".{part.name}.{os.getpid()}"
            if (es5 / part).is_dir():
                shutil.copytree(es5 / part, tmp, dirs_exist_ok=True)
            else:
                shutil.copyfile(es5 / part, tmp)
            tmp.replace(target / part)  # whole or absent
    if (target / "tex-chtml.js").is_file():
        return
    shutil.copytree(es5 / "output" / "chtml" / "fonts" / "woff-v2", target / "output" / "chtml" / "fonts" / "woff-v2",
                    dirs_exist_ok=True)
    tmp = target / f".tex-chtml.js.{os.getpid()}"
    shutil.copyfile(es5 / "tex-chtml.js", tmp)
    tmp.replace(target / "tex-chtml.js")  # last: its presence means the copy is whole


def write_course(out: Path) -> Path:
    """Make ``out`` an nbgrader course for formgrader (idempotent, cheap when nothing changed)."""
    path = out / "nbgrader_config.py"
    text = CONFIG.format(course_id=course_id(), mathjax=MATHJAX_DIR)
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
    _install_mathjax(out)
    return path


def rubrics(source: NotebookNode) -> dict[str, str]:
    """grade_id -> the instructor's model answer and rubric, for each manually graded answer."""
    from nbgrader import utils

    found = {}
    for cell in source.cells:
        if utils.is_grade(cell) and utils.is_solution(cell):
            text = cell.source
            begin, end = "### BEGIN SOLUTION", "### END SOLUTION"
            if begin in text and end in text:
                text = text.split(begin, 1)[1].split(end, 1)[0]
            found[cell.metadata.nbgrader["grade_id"]] = text.strip()
    return found


def rubric_cell(grade_id: str, points: float, text: str) -> NotebookNode:
    """The grader-only cell shown after a written answer in formgrader; never in feedback."""
    quoted = "\n".join(f"> {line}" if line else ">" for line in text.splitlines())
    cell = new_markdown_cell(f"> **For the grader only: model answer and rubric for `{grade_id}` ({points:g} points).** "
                             f"Students never see this cell.\n>\n{quoted}")
    cell.metadata["pdl"] = {RUBRIC_MARK: grade_id}
    return cell
