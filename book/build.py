"""Build the course book into ``_build/html``.

Run from anywhere as ``.venv/bin/python book/build.py`` (the Makefile's ``book`` target does
this with ``PDL_DATA_DIR`` and ``KERAS_BACKEND=torch`` set). One step per function, in order:

1. ``ensure_mathjax``    MathJax 3 from the npm registry into ``_build/.mathjax`` (never committed;
                         skipped when the pinned version is already there, so rebuilds run offline).
2. ``sync_colab``        ``book/<chapter>.ipynb`` (no outputs) from ``book/<chapter>.md``: the file that
                         the "open in Colab" button opens on GitHub. Written only when it changed.
3. ``run_jupyter_book``  ``jupyter-book build`` with warnings as errors, nitpicky, executing the
                         chapters through jupyter-cache (``_config.yml``: ``execute_notebooks: cache``).
4. ``fill_downloads``    the ``.ipynb`` download of every chapter gets its outputs from jupyter-cache
                         (myst-nb 1.4 writes the notebook *without* outputs when it comes from the cache).
5. ``install_mathjax``   MathJax into ``_build/html/_static/mathjax`` (``mathjax_path`` in ``_config.yml``).
6. ``copy_exercises``    the generated student notebooks ``exercises/<name>/`` into
                         ``_build/html/exercises/<name>/``, which every chapter links. Never ``solutions/``.

``python book/build.py --check-colab`` only checks that the Colab notebooks are in sync (exit 1 if not).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
BUILD = ROOT / "_build"
HTML = BUILD / "html"
MATHJAX_VERSION = os.environ.get("PDL_MATHJAX_VERSION", "3.2.2")
MATHJAX_PREFIX = BUILD / ".mathjax"
MATHJAX_ES5 = MATHJAX_PREFIX / "node_modules" / "mathjax" / "es5"

# The six student assignments the chapters link (one list: pdl.assignments).
sys.path.insert(0, str(ROOT))  # the course package, also when build.py runs outside the venv's editable install
from pdl.assignments import ASSIGNMENTS as EXERCISES  # noqa: E402
# Text that must never reach the published site (it marks instructor-only content).
FORBIDDEN_IN_EXERCISES = ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS")


def log(msg: str) -> None:
    print(f"[book] {msg}", flush=True)


# --------------------------------------------------------------------------- 1. and 5. MathJax
def _installed_mathjax_version() -> str | None:
    pkg = MATHJAX_PREFIX / "node_modules" / "mathjax" / "package.json"
    if not pkg.is_file():
        return None
    return json.loads(pkg.read_text())["version"]


def ensure_mathjax() -> Path:
    if _installed_mathjax_version() == MATHJAX_VERSION and (MATHJAX_ES5 / "tex-chtml.js").is_file():
        return MATHJAX_ES5
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("[book] npm is needed to fetch MathJax (apt-get install nodejs npm).")
    MATHJAX_PREFIX.mkdir(parents=True, exist_ok=True)
    log(f"npm install mathjax@{MATHJAX_VERSION} into {MATHJAX_PREFIX.relative_to(ROOT)}")
    subprocess.run(
        [npm, "install", "--no-save", "--no-audit", "--no-fund", "--loglevel=error",
         "--prefix", str(MATHJAX_PREFIX), f"mathjax@{MATHJAX_VERSION}"],
        check=True,
    )
    if _installed_mathjax_version() != MATHJAX_VERSION:
        sys.exit(f"[book] npm did not install mathjax {MATHJAX_VERSION}")
    return MATHJAX_ES5


def install_mathjax(es5: Path) -> None:
    target = HTML / "_static" / "mathjax"
    stamp = target / ".version"
    if stamp.is_file() and stamp.read_text() == MATHJAX_VERSION:
        return
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(es5, target)
    stamp.write_text(MATHJAX_VERSION)
    log(f"MathJax {MATHJAX_VERSION} served from {target.relative_to(ROOT)}")


# --------------------------------------------------------------------------- 2. Colab notebooks
def chapters() -> list[Path]:
    """The chapter sources named in _toc.yml, in order."""
    names = re.findall(r"(?:root|file):\s*(book/[\w-]+)", (ROOT / "_toc.yml").read_text())
    return [ROOT / f"{name}.md" for name in names]


def colab_notebook(md: Path) -> str:
    """The MyST notebook as .ipynb text without outputs, as Colab opens it from GitHub."""
    import nbformat
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig

    nb = read_myst_markdown_notebook(md.read_text(encoding="utf-8"), MdParserConfig(), path=md)
    nb.metadata.pop("source_map", None)
    nb.metadata.pop("jupytext", None)
    nb.metadata.setdefault("colab", {})["provenance"] = []
    for i, cell in enumerate(nb.cells):
        cell.id = f"{md.stem[:40]}-{i}"  # stable ids: the file only changes when the source does
    return nbformat.writes(nb) + "\n"


def sync_colab(check_only: bool = False) -> list[Path]:
    stale = []
    for md in chapters():
        ipynb = md.with_suffix(".ipynb")
        text = colab_notebook(md)
        if not ipynb.is_file() or ipynb.read_text(encoding="utf-8") != text:
            stale.append(ipynb)
            if not check_only:
                ipynb.write_text(text, encoding="utf-8")
                log(f"updated {ipynb.relative_to(ROOT)} (Colab copy of {md.name})")
    return stale


# --------------------------------------------------------------------------- 3. jupyter-book
def run_jupyter_book() -> int:
    """Build and return how many notebooks were executed (0 on a no-change rebuild)."""
    exe = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(ROOT),
           "--path-output", str(ROOT), "--builder", "html", "-W", "-n", "--keep-going"]
    env = dict(os.environ)
    env.setdefault("KERAS_BACKEND", "torch")
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # no debugger warning on stderr
    log(" ".join(cmd[:3]) + " ... -W -n --keep-going")
    executed = 0
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1)
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line)
        if "Executing notebook" in line:
            executed += 1
    if proc.wait() != 0:
        sys.exit(f"[book] jupyter-book build failed (exit {proc.returncode}); see the warnings above")
    return executed


# --------------------------------------------------------------------------- 4. downloads
def fill_downloads() -> None:
    """Put the executed outputs into ``_build/html/_sources/book/<chapter>.ipynb`` (the download button).

    myst-nb 1.4 writes ``_build/jupyter_execute/<doc>.ipynb`` from the notebook it *read*; when the outputs come
    from jupyter-cache they are merged into a copy, so that file has no outputs, and sphinx-book-theme copies
    it into ``_sources/`` for the download. Merge the cached outputs back in (executes nothing).
    """
    import nbformat
    from jupyter_cache import get_cache
    from myst_nb.core.utils import coalesce_streams

    cache = get_cache(BUILD / ".jupyter_cache")
    for md in chapters():
        rel = md.relative_to(ROOT).with_suffix(".ipynb")
        executed, download = BUILD / "jupyter_execute" / rel, HTML / "_sources" / rel
        if not executed.is_file():
            sys.exit(f"[book] {executed} is missing: was {md.name} built?")
        nb = nbformat.read(executed, as_version=4)
        # Always take the outputs from the cache: when myst-nb executed the chapter in this build, its copy has
        # the first stream of a cell merged in place but the later ones still there (text printed twice).
        try:
            _, nb = cache.merge_match_into_notebook(nb)
        except KeyError:
            sys.exit(f"[book] no cached execution of {md.name} matches its source; rebuild")
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = coalesce_streams(cell.outputs)  # as on the page (nb_merge_streams)
        text = nbformat.writes(nb)
        for target in (executed, download):
            if not target.is_file() or target.read_text(encoding="utf-8") != text:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- 6. exercises
def copy_exercises() -> list[str]:
    """Copy the student notebooks; return the names that are not generated yet."""
    missing = []
    dest_root = HTML / "exercises"
    for name in EXERCISES:
        src = ROOT / "exercises" / name
        nb = src / f"{name}.ipynb"
        dest = dest_root / name
        if not nb.is_file():
            missing.append(name)
            continue
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(src, dest, ignore=shutil.ignore_patterns(
            ".ipynb_checkpoints", "__pycache__", "*.pyc", "gradebook.db", "*solution*"))
        for f in dest.rglob("*.ipynb"):
            text = f.read_text(encoding="utf-8")
            for marker in FORBIDDEN_IN_EXERCISES:
                if marker in text:
                    shutil.rmtree(dest)
                    sys.exit(f"[book] {f.relative_to(ROOT)} contains {marker!r}: exercises/ must hold "
                             "student versions only; regenerate it from solutions/")
    if missing:
        log("not generated yet (links will 404 until they are): " + ", ".join(missing))
    return missing


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check-colab", action="store_true",
                        help="only check that book/*.ipynb match book/*.md")
    args = parser.parse_args(argv)
    if args.check_colab:
        stale = sync_colab(check_only=True)
        for p in stale:
            print(f"out of date: {p.relative_to(ROOT)} (run book/build.py)")
        sys.exit(1 if stale else 0)

    t0 = time.perf_counter()
    es5 = ensure_mathjax()
    sync_colab()
    executed = run_jupyter_book()
    fill_downloads()
    install_mathjax(es5)
    copy_exercises()
    log(f"done in {time.perf_counter() - t0:.1f} s; notebooks executed: {executed}; "
        f"open {HTML.relative_to(ROOT)}/index.html")


if __name__ == "__main__":
    main()
