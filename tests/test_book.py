"""Browser test of the built book (issue 3).

It assumes ``_build/html`` was built by ``make book`` (the Makefile's ``test`` target depends on it).
It serves the site on 127.0.0.1 from a thread, opens every chapter in headless Debian Chromium through
Playwright (``executable_path=/usr/bin/chromium``; Playwright never downloads a browser here) and checks,
per chapter: no console errors or failed requests, math typeset by the locally served MathJax, every image
loaded and described, the "next" link leads to the next chapter of ``_toc.yml``, the ``.ipynb`` download is a
valid executed notebook, and the exercise link gives a valid student notebook. A screenshot per chapter goes
to ``tests/artifacts/``.
"""
from __future__ import annotations

import functools
import importlib.util
import http.server
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urljoin

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = os.environ.get("PDL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync", "--disable-quic", "--disable-dev-shm-usage",
]
EXERCISE_HREF = re.compile(r"\.\./exercises/(ex\d\d_[a-z_]+)/\1\.ipynb$")


def toc_chapters() -> list[str]:
    """Docnames in reading order, e.g. ['book/intro', 'book/logistic_regression', ...]."""
    return re.findall(r"(?:root|file):\s*(book/[\w-]+)", (ROOT / "_toc.yml").read_text())


# Parts whose pages have no exercise of their own: the notes on the slides, and notation and doing the exercises.
PARTS_WITHOUT_EXERCISES = {"About the slides", "For students"}


def toc_front_matter() -> set[str]:
    """The pages of the parts in PARTS_WITHOUT_EXERCISES: no exercise link of their own."""
    import yaml
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return {c["file"] for part in toc["parts"] if part["caption"] in PARTS_WITHOUT_EXERCISES
            for c in part["chapters"]}


CHAPTERS = toc_chapters()
FRONT_MATTER = toc_front_matter()
PHONE, TABLET = {"width": 390, "height": 844}, {"width": 768, "height": 1024}


@pytest.fixture(scope="module")
def site() -> str:
    if not (HTML / "index.html").is_file() or not all((HTML / f"{c}.html").is_file() for c in CHAPTERS):
        pytest.fail(f"{HTML} is missing or incomplete: build the book first with `make book` "
                    "(or `.venv/bin/python book/build.py`)", pytrace=False)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest output clean
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(HTML)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's `chromium` package "
                    "(apt-get install chromium); never a Playwright browser download", pytrace=False)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, site, request):
    viewport = getattr(request, "param", {"width": 1280, "height": 900})
    context = browser.new_context(viewport=viewport, base_url=site)
    page = context.new_page()
    page.problems = []  # console errors, uncaught exceptions, failed requests
    page.on("console", lambda m: m.type == "error" and page.problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: page.problems.append(f"request failed: {r.url} {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and page.problems.append(f"HTTP {r.status}: {r.url}"))
    yield page
    context.close()


def _fetch_notebook(page, href: str) -> nbformat.NotebookNode:
    url = urljoin(page.url, href)
    response = page.request.get(url)
    assert response.ok, f"{url} answered HTTP {response.status}"
    nb = nbformat.reads(response.text(), as_version=4)
    nbformat.validate(nb)
    return nb


def _wait_for_math(page) -> None:
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20_000)
    page.evaluate("() => MathJax.startup.promise")


def _wait_for_images(page) -> None:
    page.evaluate("""() => Promise.all([...document.images].map(img => img.complete ? null :
        new Promise(resolve => { img.addEventListener('load', resolve); img.addEventListener('error', resolve); })))""")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter(page, chapter):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{chapter}.html", wait_until="load")
    title = page.locator("article h1").first.inner_text()

    # Math: every page whose source has math loads the local MathJax and typesets all of it.
    n_math = page.locator("article .math").count()
    if n_math:
        assert page.locator("script[src*='_static/mathjax/tex-chtml.js']").count() == 1, "MathJax not served locally"
        _wait_for_math(page)
        n_typeset = page.locator("article mjx-container").count()
        assert n_typeset >= n_math, f"{chapter}: {n_math} math elements but {n_typeset} typeset"
        assert page.locator("mjx-merror").count() == 0, f"{chapter}: MathJax reported a TeX error"

    # Images: all loaded; figures in the chapter text have alt text.
    _wait_for_images(page)
    broken = page.evaluate("() => [...document.images].filter(i => !(i.naturalWidth > 0)).map(i => i.src)")
    assert broken == [], f"{chapter}: images that did not load: {broken}"
    no_alt = page.evaluate("() => [...document.querySelectorAll('article img')]"
                           ".filter(i => !(i.getAttribute('alt') || '').trim()).map(i => i.src)")
    assert no_alt == [], f"{chapter}: figures without alt text: {no_alt}"

    page.screenshot(path=str(ARTIFACTS / f"{Path(chapter).name}.png"), full_page=True)

    # The download button offers the executed notebook.
    nb_link = page.locator("a.btn-download-notebook-button")
    assert nb_link.count() == 1, f"{chapter}: no .ipynb download button"
    nb = _fetch_notebook(page, nb_link.get_attribute("href"))
    code = [c for c in nb.cells if c.cell_type == "code"]
    if chapter not in FRONT_MATTER or chapter == "book/slide_notes":  # the notes' checks are code with outputs
        assert code and any(c.get("outputs") for c in code), f"{chapter}: the downloaded notebook has no outputs"

    # ... and the MyST-Markdown source.
    md_link = page.locator("a.btn-download-source-button")
    assert md_link.count() == 1 and md_link.get_attribute("href").endswith(".md"), f"{chapter}: no .md download"
    md = page.request.get(urljoin(page.url, md_link.get_attribute("href")))
    assert md.ok and "```{code-cell}" in md.text(), f"{chapter}: the .md download is not the chapter source"

    # The Colab launch button points at the repository's copy of this chapter as a notebook.
    colab = page.locator("a[href^='https://colab.research.google.com/github/']")
    assert colab.count() >= 1, f"{chapter}: no Colab launch button"
    assert colab.first.get_attribute("href").endswith(f"/blob/main/{chapter}.ipynb")

    # Exercise link(s): resolve to a valid student notebook (once the exercise is generated).
    hrefs = page.locator("article a[href*='exercises/']").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    local = [h for h in hrefs if not h.startswith("http")]
    assert local or chapter in FRONT_MATTER, f"{chapter}: no link to an exercise"
    for href in local:
        m = EXERCISE_HREF.search(href)
        assert m, f"{chapter}: unexpected exercise link {href}"
        if not (ROOT / "exercises" / m[1] / f"{m[1]}.ipynb").is_file():
            continue  # not generated yet: nothing to serve (test_all_exercises_linked reports it)
        ex = _fetch_notebook(page, href)
        text = nbformat.writes(ex)
        assert "### BEGIN SOLUTION" not in text and "### BEGIN HIDDEN TESTS" not in text
    # ... each with "Open in Colab" beside its download, to the same notebook in the repository.
    for p in page.locator("article p.exercise-link").all():
        download = p.locator("a[download]").get_attribute("href")
        colab = p.locator("a.colab-link")
        assert colab.count() == 1, f"{chapter}: exercise download without an Open in Colab link"
        assert colab.get_attribute("href").endswith("/blob/main/" + download.removeprefix("../")), download

    assert page.problems == [], f"{chapter}: " + "\n".join(page.problems)

    # Navigation: "next" leads to the next chapter in _toc.yml order.
    i = CHAPTERS.index(chapter)
    nxt = page.locator("a.right-next")
    if i + 1 < len(CHAPTERS):
        assert nxt.count() == 1, f"{chapter} ({title}): no next link"
        nxt.click()
        page.wait_for_url(f"**/{CHAPTERS[i + 1]}.html", timeout=10_000)
        page.wait_for_load_state("load")
        assert page.locator("article h1").count() >= 1
    else:
        assert nxt.count() == 0, f"the last chapter {chapter} should have no next link"


def test_index_redirects_to_intro(page):
    page.goto("index.html")
    page.wait_for_url(f"**/{CHAPTERS[0]}.html", timeout=10_000)


def test_search_finds_a_chapter(page):
    page.goto("search.html?q=sigmoid")
    page.wait_for_selector("#search-results li a", timeout=20_000)
    hits = page.locator("#search-results li a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert any("logistic_regression" in h for h in hits), hits
    assert page.problems == []


def test_all_exercises_linked():
    """Each of the six exercises is linked from some chapter; report the ones not generated yet."""
    linked = set()
    for chapter in CHAPTERS:
        linked |= set(re.findall(r"\.\./exercises/(ex\d\d_[a-z_]+)/", (ROOT / f"{chapter}.md").read_text()))
    spec = importlib.util.spec_from_file_location("pdl_book_build", ROOT / "book" / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    EXERCISES = build.EXERCISES
    assert set(EXERCISES) <= linked, f"exercises never linked: {set(EXERCISES) - linked}"
    missing = [e for e in EXERCISES if not (ROOT / "exercises" / e / f"{e}.ipynb").is_file()]
    for name in EXERCISES:
        if name not in missing:
            assert (HTML / "exercises" / name / f"{name}.ipynb").is_file(), f"{name} not copied into the site"
    if missing:
        pytest.skip(f"exercises not generated yet: {missing}")


def test_colab_notebooks_in_sync():
    """book/<chapter>.ipynb (opened by the Colab button) matches book/<chapter>.md."""
    result = subprocess.run([sys.executable, str(ROOT / "book" / "build.py"), "--check-colab"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr + "\nrun `make book` and commit book/*.ipynb"


def test_no_change_rebuild_executes_nothing():
    """jupyter-cache + Sphinx's environment: rebuilding without changes executes 0 notebooks."""
    env = dict(os.environ, KERAS_BACKEND="torch")
    result = subprocess.run([sys.executable, str(ROOT / "book" / "build.py")], capture_output=True, text=True,
                            cwd=ROOT, env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "notebooks executed: 0" in result.stdout, result.stdout[-3000:]  # how fast: see bench/ and the README


def _visible(page, selector: str):
    shown = [b for b in page.locator(selector).all() if b.is_visible()]
    assert len(shown) == 1, f"expected one visible {selector}, found {len(shown)}"
    return shown[0]


@pytest.mark.parametrize("page", [PHONE, TABLET], ids=["390px", "768px"], indirect=True)
def test_sidebars_open_on_narrow_screens(page):
    """The chapter list and the in-page contents open from their header buttons (pydata-sphinx-theme#2451)."""
    page.goto("book/regression.html", wait_until="load")
    assert not page.locator("#pst-primary-sidebar a[href*='logistic_regression']").first.is_visible()

    _visible(page, ".primary-toggle").click()
    dialog = page.locator("#pst-primary-sidebar-modal")
    dialog.locator("a[href*='gradient_descent']").first.wait_for(state="visible", timeout=5_000)
    assert dialog.evaluate("d => d.open"), "the chapter list did not open"
    chapters = dialog.locator("a.reference.internal").count()
    assert chapters >= len(CHAPTERS) - 1, f"the chapter list shows {chapters} links"
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.querySelector('#pst-primary-sidebar-modal').open", timeout=5_000)

    _visible(page, ".secondary-toggle").click()
    contents = page.locator("#pst-secondary-sidebar-modal")
    contents.locator("nav a").first.wait_for(state="visible", timeout=5_000)
    assert contents.evaluate("d => d.open"), "the in-page contents did not open"
    headings = page.locator("article h2").count()
    assert contents.locator("nav a").count() >= headings > 0
    # A link in it scrolls to its section.
    target = contents.locator("nav a").nth(1)
    anchor = target.get_attribute("href").split("#")[-1]
    target.click()
    page.wait_for_function(f"() => location.hash === '#{anchor}'", timeout=5_000)
    assert page.problems == [], "\n".join(page.problems)


def test_primary_toggle_collapses_the_sidebar_on_wide_screens(page):
    page.goto("book/regression.html", wait_until="load")
    sidebar = page.locator("#pst-primary-sidebar")
    assert sidebar.is_visible()
    _visible(page, ".primary-toggle").click()
    page.wait_for_function("() => document.querySelector('#pst-primary-sidebar').classList"
                           ".contains('pst-sidebar-hidden')", timeout=5_000)
    assert not page.locator("#pst-primary-sidebar-modal").evaluate("d => d.open")


@pytest.mark.parametrize("page", [PHONE], ids=["390px"], indirect=True)
def test_wide_math_and_tables_show_that_they_scroll(page):
    """At 390 px a wide equation or table scrolls in its own box, marked by a shadow on the side with more."""
    seen = {"equation": 0, "table": 0}
    for chapter in CHAPTERS:
        page.goto(f"{chapter}.html", wait_until="load")
        if page.locator("article .math").count():
            _wait_for_math(page)
        page.wait_for_timeout(100)  # the marker runs after typesetting
        boxes = page.evaluate("""() => [...document.querySelectorAll(
                'article mjx-container[display="true"], article .pst-scrollable-table-container')]
            .filter(e => e.scrollWidth > e.clientWidth + 1)
            .map(e => ({kind: e.tagName === 'MJX-CONTAINER' ? 'equation' : 'table',
                        marked: e.classList.contains('pdl-scrolls'),
                        shadow: getComputedStyle(e).backgroundImage.includes('gradient'),
                        overflow: getComputedStyle(e).overflowX}))""")
        for box in boxes:
            assert box["marked"] and box["shadow"] and box["overflow"] in ("auto", "scroll"), (chapter, box)
            seen[box["kind"]] += 1
        assert page.evaluate("() => document.scrollingElement.scrollWidth") <= PHONE["width"], \
            f"{chapter}: the page itself scrolls sideways at 390 px"
        marked = page.locator("article .pdl-scrolls")
        if marked.count():
            box = marked.first
            box.evaluate("e => e.scrollBy(200, 0)")
            assert box.evaluate("e => e.scrollLeft") > 0, f"{chapter}: a marked box does not scroll"
    assert seen["equation"] > 0, "no wide equation at 390 px: the check would test nothing"
