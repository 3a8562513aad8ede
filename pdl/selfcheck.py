"""``pdl-check NOTEBOOK.ipynb``: a student's self-check before submitting, like nbgrader's "Validate".

It runs the notebook the way the grader will: a fresh kernel of this Python, in an empty folder, every cell top to
bottom (an error does not stop the run), each cell under the grader's time limit and the whole notebook under its
limit (``pdl.limits``). Then it prints one line per finding: each public test cell passed or failed with ``check``'s
message, the answers that still raise ``NotImplementedError``, other errors, the names that the public tests use but
that are not defined after the run (a graded function missing or renamed), a file name other than the assignment's,
and the run time against the limits. Exit status: 0 when every public test passes, 1 otherwise, 2 for a usage error.

It needs only the student install (nbclient, nbformat, ipykernel): it never imports the autograder or nbgrader, and it
never sees the hidden tests (in an instructor's notebook it drops them, as the student version does).
"""
from __future__ import annotations

import argparse
import ast
import asyncio
import builtins
import difflib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import limits
from .assignments import ASSIGNMENTS, identify

BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"  # nbgrader's markers
_HIDDEN_BLOCK = re.compile(rf"[ \t]*{re.escape(BEGIN_HIDDEN)}.*?{re.escape(END_HIDDEN)}[^\n]*\n?", re.S)
STUB = "raise NotImplementedError()"  # nbgrader's code stub in this course (autograder/course.py)
TEXT_STUB = "YOUR ANSWER HERE"  # nbgrader's stub of a written answer
_REPORT = "__pdl_check_names__"  # marks the output of the names cell appended to the run


class UsageError(Exception):
    """A command-line mistake: one line, exit 2."""


@dataclass
class TestCell:
    index: int
    grade_id: str
    names: list[str]  # names the cell uses but does not define itself


@dataclass
class Plan:
    nb: Any  # the notebook to run (hidden tests removed, the names cell appended)
    tests: list[TestCell]
    answers: dict[int, str]  # cell index -> grade_id of each answer cell (nbgrader solution cells)
    written: dict[int, str]  # cell index -> grade_id of each written answer still left as nbgrader's stub
    names_cell: int


@dataclass
class Run:
    seconds: float = 0.0
    cell_seconds: dict[int, float] = field(default_factory=dict)
    timed_out: list[int] = field(default_factory=list)
    stopped: str = ""  # why the run ended early, if it did


# --------------------------------------------------------------------------- reading the notebook
def _nbgrader(cell: Any) -> dict[str, Any]:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_test_cell(cell: Any) -> bool:
    meta = _nbgrader(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution") and "grade_id" in meta


def _has_code(source: str) -> bool:
    return any(line.strip() and not line.strip().startswith("#") for line in source.splitlines())


def used_names(source: str) -> list[str]:
    """Names a test cell reads that neither it nor Python's builtins define: what it needs from the notebook."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    loaded, bound = [], set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                loaded.append(node.id)
            else:
                bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
    return list(dict.fromkeys(n for n in loaded if n not in bound))


def read(path: Path) -> Any:
    """The notebook, checked as the grader's intake checks a submission (JSON, nbformat, schema)."""
    import nbformat

    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not a notebook (not valid JSON: {exc})") from None
    if not isinstance(raw, dict) or "nbformat" not in raw:
        raise UsageError(f"{path}: JSON, but not a Jupyter notebook")
    invalid: dict[str, Exception] = {}
    try:
        nb = nbformat.reads(text, as_version=4, capture_validation_error=invalid)
    except Exception as exc:  # noqa: BLE001 (nbformat raises many kinds)
        invalid["error"] = exc
    if invalid:
        problem = " ".join(str(next(iter(invalid.values()))).split())[:200]
        raise UsageError(f"{path}: not a valid notebook, and the grader would not accept it either ({problem})")
    return nb


def plan(nb: Any) -> Plan:
    """The notebook as it will run: hidden tests dropped, and one last cell that reports which names are defined."""
    import nbformat

    tests, answers, written, names = [], {}, {}, []
    for index, cell in enumerate(nb.cells):
        meta = _nbgrader(cell)
        if is_test_cell(cell):
            cell.source = _HIDDEN_BLOCK.sub("", cell.source)
            if _has_code(cell.source):  # a cell that held only hidden tests is a comment now: not a public test
                used = used_names(cell.source)
                tests.append(TestCell(index, meta["grade_id"], used))
                names += used
        elif cell.cell_type == "code" and meta.get("solution"):
            answers[index] = meta.get("grade_id", f"cell {index + 1}")
        elif cell.cell_type == "markdown" and meta.get("solution") and cell.source.strip() == TEXT_STUB:
            written[index] = meta.get("grade_id", f"cell {index + 1}")
    names = list(dict.fromkeys(names))
    nb.cells.append(nbformat.v4.new_code_cell(
        "import json as _pdl_json, types as _pdl_types\n"
        f"print({_REPORT!r} + _pdl_json.dumps({{'missing': [n for n in {names!r} if n not in globals()],\n"
        "    'defined': [n for n, v in globals().items() if not n.startswith('_') and not isinstance(v, _pdl_types.ModuleType)]}))\n"))
    return Plan(nb, tests, answers, written, len(nb.cells) - 1)


# --------------------------------------------------------------------------- running it
def _kernel_manager() -> Any:
    """A kernel of *this* Python (the one with the course installed), whatever kernels Jupyter has registered."""
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # ipykernel 6 imports debugpy, which warns on stderr
    from ipykernel.kernelspec import RESOURCES, get_kernel_dict
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    class ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str, *args: Any, **kwargs: Any) -> Any:
            return self.kernel_spec_class(resource_dir=RESOURCES, **get_kernel_dict())

    return AsyncKernelManager(kernel_name="python3", kernel_spec_manager=ThisPython())


async def _execute(nb: Any, workdir: Path, cell_timeout: int, total_timeout: int) -> Run:
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    run, started, t0 = Run(), {}, time.monotonic()

    def on_start(cell: Any, cell_index: int, **_: Any) -> None:
        started[cell_index] = time.monotonic()

    def on_executed(cell: Any, cell_index: int, execute_reply: Any = None, **_: Any) -> None:
        run.cell_seconds[cell_index] = time.monotonic() - started.get(cell_index, time.monotonic())
        if ((execute_reply or {}).get("content") or {}).get("ename") == "CellTimeout":
            run.timed_out.append(cell_index)

    km = _kernel_manager()
    client = NotebookClient(
        nb, km=km, timeout=cell_timeout, startup_timeout=120, allow_errors=True, interrupt_on_timeout=True,
        resources={"metadata": {"path": str(workdir)}}, on_cell_start=on_start, on_cell_executed=on_executed,
        error_on_timeout={"ename": "CellTimeout", "evalue": f"the cell ran longer than {cell_timeout} s and was "
                          "interrupted", "traceback": []})
    env = dict(os.environ)
    env.setdefault("KERAS_BACKEND", "torch")  # as in the grader's kernels
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    log = tempfile.TemporaryFile()  # the kernel's own stderr: shown only if it does not start
    task = asyncio.ensure_future(client.async_execute(env=env, stdout=subprocess.DEVNULL, stderr=log))
    try:
        done, _ = await asyncio.wait({task}, timeout=total_timeout)
        if not done:
            run.stopped = f"the notebook ran longer than the grader's limit of {total_timeout} s and was stopped"
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        else:
            task.result()
    except DeadKernelError as exc:
        run.stopped = f"the kernel died ({exc}); out of memory? the grader allows {limits.MEMORY_MIB} MiB"
    except RuntimeError as exc:  # the kernel did not start
        log.seek(0)
        tail = log.read()[-400:].decode("utf-8", "replace").strip().replace("\n", " | ")
        run.stopped = f"the kernel could not start: {exc} {tail}".strip()
    finally:
        if client.kc is not None:
            client.kc.stop_channels()
        if km.has_kernel:
            await km.shutdown_kernel(now=True)
        log.close()
    run.seconds = time.monotonic() - t0
    return run


# --------------------------------------------------------------------------- what it found
def _one_line(text: str, limit: int = 240) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # colours from IPython's tracebacks
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _error(cell: Any) -> tuple[str, str] | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return out.get("ename", "Error"), out.get("evalue", "")
    return None


def _names_report(cell: Any) -> dict[str, list[str]] | None:
    for out in cell.get("outputs", []):
        text = out.get("text", "") if out.get("output_type") == "stream" else ""
        if _REPORT in text:
            return json.loads(text.split(_REPORT, 1)[1].splitlines()[0])
    return None


def _why(ename: str, evalue: str) -> str:
    if ename == "NotImplementedError" and not evalue:
        return "NotImplementedError: something it calls is not answered yet"
    if ename == "CheckFailed":
        return evalue
    return f"{ename}: {evalue}" if evalue else ename


def report(path: Path, p: Plan, run: Run) -> tuple[list[str], bool]:
    """The lines to print, and whether every public test passed."""
    cells, lines, passed = p.nb.cells, [], 0
    ran = set(run.cell_seconds)
    for index, grade_id in p.answers.items():
        err = _error(cells[index])
        unanswered = any(line.strip() == STUB for line in cells[index].source.splitlines())
        if unanswered or (err and err[0] == "NotImplementedError"):
            lines.append(f"NOT ANSWERED  cell {index + 1} ({grade_id}): still raises NotImplementedError")
        elif err:
            lines.append(f"ERROR   cell {index + 1} ({grade_id}): {_one_line(_why(*err))}")
    for index, grade_id in p.written.items():
        lines.append(f"NOT ANSWERED  cell {index + 1} ({grade_id}): written answer still says {TEXT_STUB!r} "
                     "(graded by hand, not by the tests)")
    for index, cell in enumerate(cells[: p.names_cell]):
        err = _error(cell)
        if err and index not in p.answers and not is_test_cell(cell):
            lines.append(f"ERROR   cell {index + 1}: {_one_line(_why(*err))}")
    for test in p.tests:
        err = _error(cells[test.index])
        where = f"{test.grade_id} (cell {test.index + 1})"
        if test.index in run.timed_out:
            lines.append(f"FAILED  {where}: ran longer than {limits.CELL_TIMEOUT_S} s and was interrupted")
        elif test.index not in ran:
            lines.append(f"FAILED  {where}: did not run ({run.stopped or 'the run ended before it'})")
        elif err:
            lines.append(f"FAILED  {where}: {_one_line(_why(*err))}")
        else:
            passed += 1
            lines.append(f"passed  {where}")
    names = _names_report(cells[p.names_cell]) if p.names_cell in ran else None
    if names is None:
        lines.append("MISSING  not checked: the run did not reach its end")
    else:
        for name in names["missing"]:
            users = ", ".join(t.grade_id for t in p.tests if name in t.names)
            close = difflib.get_close_matches(name, names["defined"], n=1, cutoff=0.75)
            hint = f"; renamed to {close[0]}?" if close else "; missing, renamed, or its cell raised an error"
            lines.append(f"MISSING  {name}: used by {users}, not defined after the run{hint}")
    for index in run.timed_out:
        if not any(index == t.index for t in p.tests):
            lines.append(f"TIMEOUT  cell {index + 1} ran longer than {limits.CELL_TIMEOUT_S} s and was interrupted")
    if run.stopped:
        lines.append(f"STOPPED  {run.stopped}")
    assignment = identify(p.nb, path)
    if assignment is None:
        lines.append(f"FILE NAME  {path.name}: cannot tell which assignment this is; the grader expects the name "
                     f"you downloaded, one of {', '.join(a + '.ipynb' for a in ASSIGNMENTS)}")
    elif path.name != f"{assignment}.ipynb":
        lines.append(f"FILE NAME  {path.name}: submit it as {assignment}.ipynb (the name of the assignment)")
    slowest = max((s for i, s in run.cell_seconds.items() if i != p.names_cell), default=0.0)
    lines.append(f"TIME  {run.seconds:.1f} s for the whole notebook (the grader stops it at {limits.NOTEBOOK_TIMEOUT_S} s); "
                 f"slowest cell {slowest:.1f} s (limit {limits.CELL_TIMEOUT_S} s per cell)")
    ok = passed == len(p.tests) and not run.stopped
    lines.append(f"RESULT  {passed} of {len(p.tests)} public tests passed. When your notebook is graded, hidden tests "
                 "(other inputs, edge cases) run too, and the written answers are graded by hand: passing here "
                 "does not guarantee full marks.")
    return lines, ok


# --------------------------------------------------------------------------- command line
def prepare(path: Path) -> Plan:
    """Read ``path`` and plan its run; UsageError if it is not an exercise notebook."""
    p = plan(read(path))
    if not p.tests:
        raise UsageError(f"{path}: no public test cells; is this one of the course's exercise notebooks?")
    return p


def check_notebook(path: Path, p: Plan, cell_timeout: int = limits.CELL_TIMEOUT_S,
                   total_timeout: int = limits.NOTEBOOK_TIMEOUT_S) -> tuple[list[str], bool]:
    """Run the planned notebook as the grader does; the report's lines and whether every public test passed."""
    with tempfile.TemporaryDirectory(prefix="pdl-check-") as workdir:  # like the grader: an empty folder
        run = asyncio.run(_execute(p.nb, Path(workdir), cell_timeout, total_timeout))
    return report(path, p, run)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pdl-check",
        description="Run an exercise notebook as the grader will (fresh kernel, top to bottom, the grader's time "
                    "limits) and list its public tests, unanswered cells, missing names and file name. "
                    "Exit 0 when every public test passes, 1 otherwise, 2 for a usage error.")
    parser.add_argument("notebook", type=Path, help="your notebook, e.g. ex01_logistic_regression.ipynb")
    args = parser.parse_args(argv)
    try:
        p = prepare(args.notebook)
    except UsageError as exc:
        print(f"pdl-check: error: {exc}", file=sys.stderr)
        return 2
    print(f"pdl-check: running {args.notebook} in a fresh kernel, top to bottom, as the grader will ...", flush=True)
    lines, ok = check_notebook(args.notebook, p)
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
