"""Issue 22, items 3 and 4: a student's HTML and JavaScript never run in formgrader or in the feedback pages.

A small ex01 class is graded by the real `pdl-grade`; Jupyter's server with nbgrader's formgrader runs in the
output folder (test_formgrader's fixtures), and Chromium opens what an instructor and a student open:

- mallory's written answer holds raw HTML with scripts (``<img onerror>``, ``<script>``, ``<svg onload>``), and an
  ordinary code cell displays HTML, SVG, JavaScript, Markdown and a PNG whose width metadata carries an attribute.
  Every payload sets a ``window.__pdl_pwned_*`` flag and, where it can, writes a file through the Jupyter server's
  API with the instructor's session (what an attacker would do to nbgrader_config.py);
- eve's notebook is named ``<svg onload=...>.ipynb`` and holds a cell whose claimed grade_id is markup: both are
  quoted in the grader's notes, which must show them as text.

On formgrader's grading page, on its "Generate Feedback" pages and on `pdl-grade feedback`'s pages no flag is set,
no file is written, the math of the answer is typeset and (formgrader only) the rubric shows; the attackers' grades
are the honest student's.
"""
from __future__ import annotations

import html
import re
import time
from pathlib import Path

import nbformat
import pytest
from conftest import cell_by_id, pdl_grade, read_nb, scores, solution_path, solved_student_version
from nbformat.v4 import new_code_cell, new_markdown_cell
from nbgrader.api import Gradebook

import test_formgrader as fg

NAME = fg.NAME
FULL = 14.0  # ex01's autograded points; the written answer waits for a human
WRITTEN = fg.WRITTEN
TOKEN = fg.TOKEN
FLAG = "__pdl_pwned_"
MARK = "MALLORY-ANSWER"
MATH = r"$\sigma(z) = \frac{1}{1 + e^{-z}}$"
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")

server = fg.server  # Jupyter's server in this module's output folder (it takes this module's `course`)
browser = fg.browser


def flag(tag: str, target: str = "window") -> str:
    """JavaScript that marks the page as attacked.

    No quotes, spaces, slashes or ``=``: it fits a file name and an unquoted attribute value, which is
    what Markdown takes for a tag (``onload=window.x=1`` would be text already).
    """
    return f"Object.assign({target},{{{FLAG}{tag}:1}})"


def attack(tag: str) -> str:
    """Set the flag, then write a file with the instructor's session, as an attacker would write nbgrader_config.py."""
    return (flag(tag) + ";fetch('/api/contents/pwned-" + tag + ".txt',{method:'PUT',headers:{'Content-Type':"
            "'application/json','X-XSRFToken':(document.cookie.split('_xsrf=')[1]||'').split(';')[0]},"
            "body:JSON.stringify({type:'file',format:'text',content:'pwned'})})")


ANSWER = (f"{MARK}: parallel lines, {MATH}, steeper where they are close together.\n\n"
          f'<img src="x" onerror="{attack("md_img")}">\n\n'
          f"<script>{attack('md_script')}</script>\n\n"
          f'Inline <svg onload="{attack("md_svg")}"><circle r="3"></circle></svg> and '
          f'<a href="javascript:{flag("md_href")}">a link</a>.\n\n'
          f'<iframe srcdoc="<script>{flag("md_iframe", "parent")}</script>"></iframe>\n\n'
          f"And in math: $\\href{{javascript:{flag('md_math_href')}}}{{\\text{{a formula link}}}}$.\n")

OUTPUT_CELL = f'''from IPython.display import HTML, SVG, Javascript, Markdown, display
display(HTML(""" <img src="x" onerror="{attack('out_img')}"><script>{attack('out_script')}</script> """))
display(SVG("""<svg xmlns="http://www.w3.org/2000/svg" onload="{flag('out_svg')}"><circle r="3"/></svg>"""))
display(Javascript("""{attack('out_js')}"""))
display(Markdown("""<img src="x" onerror="{attack('out_md')}">"""))
display({{"image/png": "{PNG}"}}, raw=True, metadata={{"image/png": {{"width": "1 onload={flag('out_png')}"}}}})
'''

FILE = f"<svg onload={flag('name')}>.ipynb"  # the notebook eve submits
FAKE_ID = f"<img src=x onerror={flag('grade_id')}>"  # a grade_id eve's notebook claims


def _mallory() -> nbformat.NotebookNode:
    nb = solved_student_version(NAME)
    cell_by_id(nb, WRITTEN).source = ANSWER
    setup = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    nb.cells.insert(setup + 1, new_code_cell(OUTPUT_CELL))
    return nb


def _eve() -> nbformat.NotebookNode:
    nb = solved_student_version(NAME)
    fake = new_markdown_cell("An answer to a question nobody asked.")
    fake.metadata["nbgrader"] = {"grade": True, "solution": True, "locked": False, "points": 5, "grade_id": FAKE_ID,
                                 "schema_version": 3}
    nb.cells.append(fake)
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    for student, nb, file in (("ada", solved_student_version(NAME), f"{NAME}.ipynb"),
                              ("mallory", _mallory(), f"{NAME}.ipynb"), ("eve", _eve(), FILE)):
        (folder / student).mkdir()
        nbformat.write(nb, folder / student / file)
    out = tmp_path_factory.mktemp("out")
    pdl_grade("grade", NAME, str(folder), "--out", str(out))
    return folder, out


def _open(browser, url: str, login: str | None = None):
    """A page that reaches nothing but the local server and files; what the page ran and asked for is kept."""
    page = browser.new_page()
    page.outside, page.errors, page.dialogs = [], [], []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))

    def route(request_route):
        target = request_route.request.url
        if target.startswith(("http://127.0.0.1", "file://", "data:")):
            request_route.continue_()
        else:
            page.outside.append(target)
            request_route.abort()

    page.route("**/*", route)
    if login:
        page.goto(login)
    page.goto(url)
    page.wait_for_load_state("load")
    return page


def _ran(page) -> list[str]:
    """The payloads that ran: their flags, after MathJax has typeset the page and what they fetched has settled."""
    page.wait_for_function("!!(window.MathJax && MathJax.startup && MathJax.startup.promise)", timeout=60_000)
    page.mathjax_error = page.evaluate("MathJax.startup.promise.then(() => null, error => String(error))")
    links = page.locator("[href^='javascript:' i]")  # a javascript: link that got through runs when clicked
    for i in range(links.count()):
        links.nth(i).click()
    time.sleep(1.0)
    return page.evaluate(f"Object.keys(window).filter(k => k.startsWith('{FLAG}'))")


def _typeset_in_answer(page) -> int:
    """How many typeset formulas the cell holding mallory's answer has."""
    return page.evaluate("""mark => {
        const cells = [...document.querySelectorAll('.text_cell_render')].filter(c => c.textContent.includes(mark));
        return cells.length ? cells[0].querySelectorAll('mjx-container').length : -1;
    }""", MARK)


def _written(out: Path) -> list[str]:
    return sorted(p.name for p in out.rglob("pwned-*"))


def _login(url: str) -> str:
    return f"{url}/formgrader?token={TOKEN}"


def test_the_attackers_grades_are_the_honest_students(course):
    _, out = course
    got = scores(out)
    assert got["ada"][:2] == (FULL, 16.0), got
    assert got["mallory"][:2] == got["ada"][:2] and got["eve"][:2] == got["ada"][:2], got


def test_no_student_script_runs_on_formgraders_grading_page(course, server, browser):
    _, out = course
    url, _ = server
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        submission_id = gb.find_submission_notebook(NAME, NAME, "mallory").id
    page = _open(browser, f"{url}/formgrader/submissions/{submission_id}/", _login(url))
    page.wait_for_selector(f"input.score#{WRITTEN}", timeout=60_000)
    ran, math, text = _ran(page), _typeset_in_answer(page), page.inner_text("body")
    page.close()
    assert ran == [] and page.dialogs == [], ran
    assert _written(out.parent) == []  # nothing reached the Jupyter API with the instructor's session
    assert page.mathjax_error is None and math >= 1, f"the answer's math is not typeset: {page.mathjax_error}"
    assert MARK in text and "For the grader only" in text and fg._model_answer().replace("**", "") in text
    assert page.outside == []


@pytest.fixture(scope="module")
def feedback_pages(course, server, browser) -> dict[str, Path]:
    """The feedback pages of formgrader's "Generate Feedback" button and of `pdl-grade feedback`."""
    _, out = course
    url, _ = server
    page = _open(browser, f"{url}/formgrader/manage_assignments", _login(url))
    row = page.locator("tr", has_text=NAME)
    row.locator("td.generate-feedback a").wait_for(timeout=60_000)
    row.locator("td.generate-feedback a").click()
    page.wait_for_selector("#success-modal, #error-modal", timeout=120_000)
    shown = page.locator(".modal").first.inner_text()
    page.close()
    assert "Successfully generated feedback" in shown, shown
    pdl_grade("feedback", "--out", str(out))
    pages = {}
    for student in ("mallory", "eve"):
        pages[f"formgrader {student}"] = out / "feedback" / student / NAME / f"{NAME}.html"
        pages[f"pdl-grade {student}"] = out / "feedback" / student / f"{NAME}.html"
    return pages


@pytest.mark.parametrize("made_by", ["formgrader", "pdl-grade"])
def test_no_student_script_runs_in_the_feedback(course, browser, feedback_pages, made_by):
    _, out = course
    page = _open(browser, feedback_pages[f"{made_by} mallory"].as_uri())
    ran, math, text = _ran(page), _typeset_in_answer(page), page.inner_text("body")
    page.close()
    assert ran == [] and page.dialogs == [], ran
    assert page.mathjax_error is None and math >= 1, f"the answer's math is not typeset: {page.mathjax_error}"
    assert MARK in text and "For the grader only" not in text
    assert _written(out.parent) == [] and page.outside == []


@pytest.mark.parametrize("made_by", ["formgrader", "pdl-grade"])
def test_grader_notes_show_a_file_name_and_a_grade_id_with_markup_as_text(browser, feedback_pages, made_by):
    page = _open(browser, feedback_pages[f"{made_by} eve"].as_uri())
    ran, text = _ran(page), page.inner_text("body")
    page.close()
    assert ran == [] and page.dialogs == [], ran
    notes = next(line for line in text.splitlines() if "Grader notes" in line)
    assert f"graded {FILE}; the expected name is {NAME}.ipynb" in notes, notes
    assert f"cell {FAKE_ID} claims to be graded" in notes, notes


def test_grader_notes_are_text_whatever_they_quote():
    """Markdown, HTML and math in a note show as the characters they are."""
    from autograder.formgrader import markdown_text

    for text in ("<svg onload=alert(1)>.ipynb", "*a* _b_ `c` [l](u) # h", "1. x", "&amp; & <b>", r"a\b", "$x$ and $$y$$"):
        rendered = clean_markdown(f"x {markdown_text(text)}")
        assert html.unescape(re.sub(r"<[^>]+>", "", rendered)).strip() == f"x {text}".replace("$", r"\$"), rendered


def clean_markdown(source: str) -> str:
    from autograder.formgrader import markdown2html

    return markdown2html({"cell": {}, "resources": {}}, source)


def test_the_rubric_and_math_still_show_for_an_honest_answer(course, server, browser):
    """The cleaning keeps what the templates render on purpose: math, the rubric's quote, code and emphasis."""
    _, out = course
    url, _ = server
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        submission_id = gb.find_submission_notebook(NAME, NAME, "ada").id
    page = _open(browser, f"{url}/formgrader/submissions/{submission_id}/", _login(url))
    page.wait_for_selector(f"input.score#{WRITTEN}", timeout=60_000)
    _ran(page)
    rubric = page.locator("blockquote", has_text="For the grader only")
    assert rubric.count() == 1 and rubric.locator("strong").count() >= 1 and rubric.locator("code").count() >= 1
    headings = page.locator("h2").count()
    math = page.locator("mjx-container").count()
    page.close()
    source = read_nb(solution_path(NAME))
    assert headings == sum(c.source.startswith("## ") for c in source.cells if c.cell_type == "markdown")
    assert math >= sum(c.source.count("$$") // 2 for c in source.cells if c.cell_type == "markdown")
    assert page.mathjax_error is None and page.errors == [] and page.outside == []
