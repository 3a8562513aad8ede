"""Small Sphinx fixes for the course book (loaded through ``sphinx.local_extensions`` in ``_config.yml``).

* The light/dark mode gets an explicit default. Without one, pydata-sphinx-theme logs
  "Got invalid theme mode" to the browser console on every page.
* Each page's ``<script>`` tags are de-duplicated. Jupyter Book 1 with sphinx-thebe 0.3 registers thebe's
  configuration twice, so the browser raises "Identifier 'THEBE_JS_URL' has already been declared".
* ``_static/pdl_book.js`` and ``.css``: the sidebar buttons work on phones and tablets (an upstream bug,
  named in the script) and wide equations and tables show that they scroll.
* Every exercise download (``<p class="exercise-link">``) gets an "Open in Colab" link beside it, to the
  student notebook in the repository (``repository.url`` and ``branch`` in ``_config.yml``).
* Quotations of the lecture are marked, so that ``tests/test_lecture_quotes.py`` can check each one against
  ``../shared/lecture/lecture1.md``: the role ``{lecture}`words` `` inline (rendered ``<q class="lecture-quote">``,
  its words MyST), ``{lecture-code}`code` `` for a line of the lecture's code (shown literally) and the directive
  ``:::{lecture}`` for a block (a ``<blockquote class="lecture-quote">``, its body MyST).
"""
from __future__ import annotations

import html
import re
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive

STATIC = Path(__file__).resolve().parent.parent / "_static"
COLAB = "https://colab.research.google.com/github/"
EXERCISE_LINK = re.compile(
    r'(<p class="exercise-link">\s*<a href="\.\./(exercises/(ex\d\d_\w+)/\3\.ipynb)"[^>]*>.*?</a>)(\s*</p>)',
    re.S)


def _colab_url(app, path: str) -> str | None:
    options = app.config.html_theme_options or {}
    repo = (options.get("repository_url") or "").rstrip("/")
    if not repo.startswith("https://github.com/"):
        return None
    branch = options.get("repository_branch") or "main"
    return f"{COLAB}{repo.removeprefix('https://github.com/')}/blob/{branch}/{path}"


def _exercise_colab_links(app, context) -> None:
    body = context.get("body")
    if not body or "exercise-link" not in body:
        return

    def add_colab(m: re.Match) -> str:
        url = _colab_url(app, m[2])
        if url is None:
            return m[0]
        link = (f' <a class="colab-link" href="{html.escape(url)}" target="_blank" rel="noopener">'
                f'Open {m[3]} in Colab</a>')
        return m[1] + link + m[4]

    context["body"] = EXERCISE_LINK.sub(add_colab, body)


def _page_fixes(app, pagename, templatename, context, doctree):
    _exercise_colab_links(app, context)
    if not context.get("default_mode"):
        context["default_mode"] = "light"
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        # the same inline script is registered once with filename None and once with ""
        key = (getattr(js, "filename", js) or "", repr(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


class lecture_quote(nodes.Inline, nodes.TextElement):
    """An inline quotation of the lecture."""


def _visit_lecture_quote(self, node) -> None:
    self.body.append(self.starttag(node, "q", "", CLASS="lecture-quote"))


def _depart_lecture_quote(self, node) -> None:
    self.body.append("</q>")


def _lecture_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """The words as inline MyST (emphasis and $math$ render as in the lecture)."""
    node = lecture_quote(rawtext)
    children, messages = inliner.parse(text, lineno, inliner, node)
    node += children
    return [node], messages


def _lecture_code_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """A quoted line of the lecture's code, shown literally."""
    node = lecture_quote(rawtext)
    node += nodes.literal(text, text)
    return [node], []


class LectureQuoteDirective(Directive):
    """A block quotation of the lecture; its content is parsed as MyST (math, lists)."""

    has_content = True

    def run(self):
        node = nodes.block_quote(classes=["lecture-quote"])
        self.state.nested_parse(self.content, self.content_offset, node)
        return [node]


def _add_static(app, config) -> None:
    config.html_static_path.append(str(STATIC))


def setup(app):
    app.connect("config-inited", _add_static)
    app.add_node(lecture_quote, html=(_visit_lecture_quote, _depart_lecture_quote),
                 latex=(lambda self, node: None, lambda self, node: None))
    app.add_role("lecture", _lecture_role)
    app.add_role("lecture-code", _lecture_code_role)
    app.add_directive("lecture", LectureQuoteDirective)
    app.add_js_file("pdl_book.js")
    app.add_css_file("pdl_book.css")
    app.connect("html-page-context", _page_fixes, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
