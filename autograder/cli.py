"""pdl-grade: the instructor's command line. Thin: parse, then call one function per command."""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from . import export, feedback, release
from .course import find_root
from .backends.local import default_workers
from .gpu import sandbox_devices
from .grade import GradeError, Options, grade
from .intake import IntakeError, read_roster
from .results import ResultStore
from .sandbox import Sandbox

console = Console(stderr=True)


def _data_dir() -> Path | None:
    from pdl import data

    for path in data._candidates():
        if path.is_file():
            return path.parent
    return None


def _runner(backend: str, address: str | None):
    if backend == "ray":
        from .backends import ray as ray_backend

        return ray_backend.make_runner(address)
    from .backends import local

    return local.run


def cmd_release(args: argparse.Namespace) -> int:
    root = find_root(args.root)
    for path in release.release(root, args.assignments or None):
        console.print(f"wrote {path.relative_to(root)}")
    return 0


def _summary(batch: Any, unsafe: bool) -> None:
    results = list(batch.results.values())
    by_status: dict[str, int] = {}
    for r in results:
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
    scores = [sum(c["score"] for c in r["cells"]) for r in results]
    table = Table(title=f"{batch.assignment.name}: {len(results)} submissions")
    table.add_column("what")
    table.add_column("value", justify="right")
    for status, count in sorted(by_status.items()):
        table.add_row(f"status {status}", str(count))
    table.add_row("graded now / reused", f"{len(results) - batch.reused} / {batch.reused}")
    if scores:
        table.add_row("mean autograded score", f"{statistics.mean(scores):.2f}")
    for r in sorted(results, key=lambda r: -r["seconds"])[:3]:
        table.add_row(f"slow: {r['student_id']}", f"{r['seconds']:.1f} s")
    table.add_row("sandbox", "OFF (--unsafe-no-sandbox)" if unsafe else "bubblewrap")
    table.add_row("GPU", ", ".join(batch.gpu_devices[:1] + [f"+{len(batch.gpu_devices) - 1} nodes"]) if batch.gpu_devices
                  else "none (CPU)")
    console.print(table)


def cmd_grade(args: argparse.Namespace) -> int:
    root = find_root(args.root)
    if not args.unsafe_no_sandbox and not Sandbox.available():
        console.print("[red]error:[/] bubblewrap (bwrap) is not installed, so student code cannot be sandboxed. "
                      "Install it (apt-get install bubblewrap) or, at your own risk, pass --unsafe-no-sandbox.")
        return 2
    try:
        roster = read_roster(Path(args.roster)) if args.roster else None
    except (OSError, IntakeError) as exc:
        console.print(f"[red]error:[/] cannot read the roster: {exc}")
        return 2
    options = Options(workers=args.workers, cell_timeout=args.timeout, total_timeout=args.notebook_timeout,
                      sandbox=not args.unsafe_no_sandbox, gpu=args.gpu, memory_mib=args.memory,
                      warm=not args.no_fork_server, threads=args.threads, data_dir=_data_dir(), roster=roster)
    options.gpu_devices = sandbox_devices(args.gpu)
    failures = 0
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                  TextColumn("failed: {task.fields[failed]}"), console=console,
                  disable=args.quiet) as progress:
        task = progress.add_task(f"grading {args.assignment}", total=None, rate="", failed=0)

        def on_start(total: int, done: int) -> None:
            progress.update(task, total=total, completed=done)

        def on_result(result: dict) -> None:
            nonlocal failures
            failures += result["status"] not in ("graded",)
            elapsed = progress.tasks[0].elapsed or 1e-9
            progress.update(task, advance=1, failed=failures,
                            rate=f"{progress.tasks[0].completed / elapsed:.2f}/s")

        try:
            batch = grade(root, args.assignment, Path(args.submissions), Path(args.out), options,
                          _runner(args.backend, args.address), on_result=on_result, on_start=on_start)
        except (GradeError, IntakeError, release.ReleaseError) as exc:
            console.print(f"[red]error:[/] {exc}")
            return 2
    out = Path(args.out)
    export.write(out, batch.assignment.db_url, batch.results.values())
    for error in batch.record_errors:
        console.print(f"[red]could not record[/] {error} (the result is stored: rerun to record it)")
    batch.gpu_devices = options.gpu_devices
    _summary(batch, args.unsafe_no_sandbox)
    console.print(f"wrote {out / 'grades.csv'}, {out / 'grades_long.csv'}, {out / 'gradebook.db'}, {out / 'feedback'}/")
    return 0


def _stored_results(out: Path) -> list[dict]:
    """The newest stored result of each student and assignment."""
    latest: dict[tuple[str, str], tuple[float, dict]] = {}
    for assignment_dir in sorted((out / "results").glob("*")):
        store = ResultStore(assignment_dir)
        for path in store.stored():
            result = store.load(path.parent.name, path.stem)
            key = (result["assignment"], result["student_id"])
            if key not in latest or path.stat().st_mtime > latest[key][0]:
                latest[key] = (path.stat().st_mtime, result)
    return [r for _, r in latest.values()]


def _gradebook_url(out: Path) -> str | None:
    """The gradebook that ``grade`` wrote into ``out``, or None (after saying so)."""
    db = out / "gradebook.db"
    if not db.is_file():
        console.print(f"[red]error:[/] no gradebook at {db}; run pdl-grade grade first")
        return None
    return f"sqlite:///{db}"


def cmd_export(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if (db_url := _gradebook_url(out)) is None:
        return 2
    for path in export.write(out, db_url, _stored_results(out)):
        console.print(f"wrote {path}")
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if (db_url := _gradebook_url(out)) is None:
        return 2
    for result in _stored_results(out):
        if args.student and result["student_id"] not in args.student:
            continue
        console.print(f"wrote {feedback.write(out, db_url, result)}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pdl-grade", description="Release and grade the course's nbgrader assignments.")
    p.add_argument("--root", type=Path, default=None, help="course root (default: found from the current folder)")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("release", help="generate student versions in exercises/ from solutions/")
    r.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    r.set_defaults(func=cmd_release)

    g = sub.add_parser("grade", help="grade a class of submissions in sandboxes")
    g.add_argument("assignment")
    g.add_argument("submissions", help="folder (one sub-folder per student, or nbgrader's submitted/) or .zip")
    g.add_argument("--out", required=True, help="output folder: gradebook, CSVs, feedback, results")
    g.add_argument("--workers", type=int, default=default_workers(),
                   help="kernels at a time (default: one more than the cores, %(default)s here; local backend; "
                        "on Ray each node runs one per CPU it offers)")
    g.add_argument("--timeout", type=int, default=60, help="seconds per cell (default 60)")
    g.add_argument("--notebook-timeout", type=int, default=600, help="seconds per notebook (default 600)")
    g.add_argument("--memory", type=int, default=4096, metavar="MIB",
                   help="memory per kernel in MiB (cgroup limit; default 4096)")
    g.add_argument("--threads", type=int, default=None, metavar="N",
                   help="BLAS/PyTorch threads per kernel (default: the cores divided among the workers, at least 1; "
                        "local backend)")
    g.add_argument("--gpu", choices=["auto", "off"], default="auto", help="use a GPU when there is one")
    g.add_argument("--backend", choices=["local", "ray"], default="local")
    g.add_argument("--address", default=None, help="Ray cluster address (with --backend ray)")
    g.add_argument("--roster", help="student ids (one per line, or a CSV with student_id): absent ones get 'missing'")
    g.add_argument("--no-fork-server", action="store_true",
                   help="start every kernel from scratch instead of forking it from a warm server (slower)")
    g.add_argument("--unsafe-no-sandbox", action="store_true", help="run student code without bwrap (unsafe)")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.set_defaults(func=cmd_grade)

    e = sub.add_parser("export", help="write grades.csv and grades_long.csv from the gradebook")
    e.add_argument("--out", required=True)
    e.set_defaults(func=cmd_export)

    f = sub.add_parser("feedback", help="write per-student HTML feedback without hidden tests")
    f.add_argument("--out", required=True)
    f.add_argument("--student", action="append", help="only these students (repeatable)")
    f.set_defaults(func=cmd_feedback)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
