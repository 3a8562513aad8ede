"""Time the book build three ways, in a scratch copy of the repository (issue 3's definitions).

1. cold: no ``_build`` and no jupyter-cache: every chapter executes;
2. no change: the same build again: nothing executes;
3. one chapter edited: a code cell of one chapter changes: only that chapter executes.

MathJax is copied from this checkout's ``_build/.mathjax`` when it is there, so that the cold
build measures the book, not the npm download. Run: ``python -m bench.book_build``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
EDITED = "softmax"  # the chapter whose code changes in step 3


def copy_checkout(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    mathjax = ROOT / "_build" / ".mathjax"
    if mathjax.is_dir():
        shutil.copytree(mathjax, dest / "_build" / ".mathjax", symlinks=True)


def build(checkout: Path) -> tuple[float, int]:
    """Wall seconds and the number of executed notebooks of one ``book/build.py`` run."""
    env = dict(os.environ, KERAS_BACKEND="torch")
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "book/build.py"], cwd=checkout, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"book build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    found = re.findall(r"notebooks executed: (\d+)", proc.stdout)
    return seconds, int(found[-1]) if found else -1


def edit_one_chapter(checkout: Path) -> None:
    """Change the first code cell of one chapter (a comment is enough for jupyter-cache)."""
    path = checkout / "book" / f"{EDITED}.md"
    text = path.read_text()
    start = text.index("```{code-cell} ipython3\n")
    end = text.index("\n```\n", start)  # the cell's last line: after any "---" option block
    path.write_text(text[:end] + "\n# edited by bench.book_build" + text[end:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pdl-book-bench-") as tmp:
        checkout = Path(tmp)
        copy_checkout(checkout)
        steps = {}
        for step in ("cold", "no_change", "one_chapter_edit"):
            if step == "one_chapter_edit":
                edit_one_chapter(checkout)
            seconds, executed = build(checkout)
            steps[step] = {"seconds": round(seconds, 1), "notebooks_executed": executed}
            print(f"{step}: {seconds:.1f} s, {executed} notebooks executed", flush=True)
    report = {"steps": steps, "edited_chapter": EDITED, "cpus": os.cpu_count(), "python": platform.python_version(),
              "load_before": os.getloadavg()[0], "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "book.json").write_text(json.dumps(report, indent=2) + "\n")
    rows = "\n".join(f"| {k.replace('_', ' ')} | {v['seconds']:.1f} s | {v['notebooks_executed']} |" for k, v in steps.items())
    (args.out / "book.md").write_text("| book build | wall time | notebooks executed |\n|---|---|---|\n" + rows + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
