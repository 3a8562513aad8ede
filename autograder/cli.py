"""pdl-grade: the instructor's command line. Thin: parse, then call one function per command.

Errors an instructor can cause (a misspelt assignment, a path that is not there, a download
in which nothing is a submission, an unreadable roster, missing course data, ...) are one line
on stderr and exit code 2, before anything is written; ``--debug`` adds the traceback.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import traceback
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from pdl.data import DataError

from . import exchange_feedback, export, feedback, hub_course, lms_export, release, report
from .backends import make_backend
from .course import CourseError, check_assignment, find_root, use_course_id
from .grade import Batch, Planned, grade, plan_source
from .hub_course import HubCourse
from .intake import Intake, IntakeError, ascii_id, collect
from .layouts import Nbgrader, PatternError, compile_pattern
from .lms_export import LmsError
from .model import GradeError, Options, Result, Roster, Status
from .plans import AuthoringError
from .results import latest
from .roster import RosterError, read_roster
from .runtime.gpu import sandbox_devices
from .runtime.sandbox import Sandbox

console = Console(stderr=True)


INSTRUCTOR_ERRORS = (CourseError, GradeError, IntakeError, release.ReleaseError, AuthoringError, RosterError,
                     LmsError, PatternError)
SETTINGS = "pdl-grade.json"  # in the output folder: the roster and late penalty that export reuses
ROSTER_COPY = "roster.csv"
SHOWN = 5


class UsageError(RuntimeError):
    """A command line that cannot work (an instructor error)."""


def _error(message: str) -> None:
    """One line, never wrapped, whatever the terminal's width; brackets in paths stay as they are."""
    console.print(Text.assemble(("error: ", "bold red"), " ".join(message.split())), soft_wrap=True)


def _warn(message: str) -> None:
    console.print(Text.assemble(("warning: ", "yellow"), " ".join(message.split())), soft_wrap=True)


def _data_dir() -> Path | None:
    from pdl import data

    for path in data.candidates():
        if path.is_file():
            return path.parent
    return None


def _course(args: argparse.Namespace) -> HubCourse | None:
    """--course DIR: the hub course, its id used for every gradebook this run writes."""
    if not getattr(args, "course", None):
        return None
    course = hub_course.load(Path(args.course))
    use_course_id(course.course_id)
    return course


def _out_value(args: argparse.Namespace, course: HubCourse | None) -> str:
    if args.out:
        return args.out
    if course is not None:
        return str(course.root / hub_course.OUTPUT_FOLDER)
    raise UsageError(f"pdl-grade {args.command} needs --out (the output folder), or --course DIR for a JupyterHub "
                     "course")


def cmd_release(args: argparse.Namespace) -> int:
    root = find_root(args.root)
    course = _course(args)
    if course is not None:
        for path in hub_course.release(root, course, args.assignments, lambda line: console.print(line, soft_wrap=True)):
            console.print(f"wrote {path} and the assignment in {course.db_url} (course {course.course_id})",
                          soft_wrap=True)
        return 0
    for name in args.assignments:
        check_assignment(root, name)
    for path in release.release(root, args.assignments or None):
        console.print(f"wrote {path.relative_to(root)}")
    return 0


def _output_folder(value: str) -> Path:
    """--out as an absolute path (nbgrader's converter changes the working directory), checked before use."""
    out = Path(value).expanduser().absolute()
    if out.exists() and not out.is_dir():
        raise UsageError(f"cannot use --out {value}: {out} is a file, not a folder")
    foreign = hub_course.foreign_course(out) if out.is_dir() else ""
    if foreign:  # pdl-grade would overwrite its config, its source/ (hidden tests) and its gradebook
        raise UsageError(f"--out {value} holds an nbgrader course that pdl-grade did not write ({foreign}); "
                         f"pdl-grade writes its own output folder and would overwrite it. For a JupyterHub course "
                         f"pass --course {value} instead, or choose an empty --out")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"cannot write to the output folder {out}: {parent} is a file, not a folder")
            break
    return out


def _first_created(out: Path) -> Path | None:
    """The outermost folder of ``out`` that does not exist yet: what to remove if the run fails."""
    created = None
    for folder in (out, *out.parents):
        if folder.exists():
            return created
        created = folder
    return created


def _settings(out: Path) -> dict[str, Any]:
    try:
        return json.loads((out / SETTINGS).read_text())
    except (OSError, ValueError):
        return {}


def _roster(args: argparse.Namespace, out: Path | None) -> Roster | None:
    """--roster, else the roster an earlier ``grade`` kept in the output folder."""
    if args.roster:
        return read_roster(Path(args.roster).expanduser().absolute())
    if out is not None and _settings(out).get("roster") and (out / ROSTER_COPY).is_file():
        return read_roster(out / ROSTER_COPY)
    return None


def _check_late_penalty(args: argparse.Namespace) -> None:
    if args.late_penalty is not None and not 0 <= args.late_penalty < 1:
        raise UsageError(f"--late-penalty {args.late_penalty:g} is not a fraction between 0 and 1 (0.1 takes 10% off)")


def _late_penalty(args: argparse.Namespace, out: Path) -> float | None:
    return args.late_penalty if args.late_penalty is not None else _settings(out).get("late_penalty")


def _remember(out: Path, roster: Roster | None, late_penalty: float | None) -> None:
    """Keep the roster and late penalty in the output folder, so that a later ``export`` uses the same."""
    settings = _settings(out)
    if roster is not None:
        if roster.path.resolve() != (out / ROSTER_COPY).resolve():
            shutil.copyfile(roster.path, out / ROSTER_COPY)
        settings["roster"] = roster.path.name
    if late_penalty is not None:
        settings["late_penalty"] = late_penalty
    (out / SETTINGS).write_text(json.dumps(settings, indent=1))


def _check_lms(args: argparse.Namespace, roster: Roster | None, assignments: list[str]) -> None:
    if args.lms and roster is not None:
        for assignment in assignments:
            lms_export.check(args.lms, roster, assignment, args.lms_column)
    if args.lms and roster is None:
        raise UsageError(f"--lms {args.lms} needs the LMS's own class list as --roster "
                         f"({'the gradebook export' if args.lms == 'canvas' else 'the grading worksheet'})")
    if (args.lms_column or args.missing_as_zero) and not args.lms:
        raise UsageError("--lms-column and --missing-as-zero go with --lms canvas or --lms moodle")


def _write_grades(out: Path, db_url: str, results: list[Result], args: argparse.Namespace,
                  roster: Roster | None) -> tuple[list[Path], list[dict]]:
    """grades.csv, grades_long.csv and, with --lms, the LMS's import file."""
    penalty = _late_penalty(args, out)
    paths, summary = export.write(out, db_url, results, roster, penalty)
    written = list(paths)
    if args.lms and roster is not None:
        for assignment in sorted({r.assignment for r in results}):
            path, warnings = lms_export.write(args.lms, roster, summary, assignment, out, args.lms_column,
                                              args.missing_as_zero)
            written.append(path)
            for warning in warnings:
                _warn(warning)
    return written, summary


def _names(items: list[str]) -> str:
    return ", ".join(items[:SHOWN]) + (f", +{len(items) - SHOWN} more" if len(items) > SHOWN else "")


def _summary(batch: Batch, unsafe: bool, summary: list[dict], seconds_late: dict[str, float] | None = None) -> None:
    results = list(batch.results.values())
    intake = batch.intake
    assert intake is not None
    by_status: dict[Status, int] = {}
    for r in results:
        by_status[r.status] = by_status.get(r.status, 0) + 1
    scores = [r.score for r in results]
    table = Table(title=f"{batch.assignment.name}: {len(results)} submissions")
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("download", intake.layout)
    for status, count in sorted(by_status.items()):
        table.add_row(f"status {status}", str(count))
    late = [s.student_id for s in intake.submissions if s.late]
    known = sum(s.late is not None for s in intake.submissions)
    if seconds_late:
        table.add_row("late (timestamp.txt vs the due date)",
                      f"{len(late)} of {known}" + (f" ({_names([f'{s} {seconds_late[s]:g} s' for s in late])})"
                                                   if late else ""))
    else:
        table.add_row("late (the LMS's mark)", f"{len(late)} of {known}" if known else "not given by this LMS")
    several = [s.student_id for s in intake.submissions if s.superseded]
    if several:
        table.add_row("several files: latest graded", f"{len(several)} ({_names(several)})")
    if intake.unmatched:
        table.add_row("not a submission (ignored)", f"{len(intake.unmatched)} ({_names(intake.unmatched)})")
    if intake.not_in_roster:
        table.add_row("not on the roster", f"{len(intake.not_in_roster)} ({_names(intake.not_in_roster)})")
    pending = [r for r in summary if int(r["needs_manual_grading"] or 0)]
    table.add_row("written answers to grade", f"{sum(int(r['needs_manual_grading']) for r in pending)} "
                                              f"({len(pending)} students)")
    table.add_row("graded now / reused", f"{len(results) - batch.reused} / {batch.reused}")
    if scores:
        table.add_row("mean autograded score", f"{statistics.mean(scores):.2f}")
    for r in sorted(results, key=lambda r: -r.seconds)[:3]:
        table.add_row(f"slow: {r.student_id}", f"{r.seconds:.1f} s")
    table.add_row("sandbox", "OFF (--unsafe-no-sandbox)" if unsafe else "bubblewrap")
    table.add_row("GPU", ", ".join(batch.gpu_devices[:1] + [f"+{len(batch.gpu_devices) - 1} nodes"]) if batch.gpu_devices
                  else "none (CPU)")
    console.print(table)
    if intake.unmatched:
        _warn(f"{len(intake.unmatched)} entries of the download fit no submission layout ({intake.layout}) and "
              f"were not graded: {_names(intake.unmatched)}")


def _preflight(root: Path, args: argparse.Namespace,
               course: HubCourse | None = None) -> tuple[Path, Roster | None, Intake, Planned]:
    """Every check that can fail on the instructor's input, before anything is written or started."""
    if course is not None:
        hub_course.check_assignment(course, args.assignment)
        if args.submissions or args.id_pattern:
            raise UsageError(f"with --course the submissions are {course.path('submitted')}/<student>/"
                             f"{args.assignment}/ (nbgrader collect puts them there): leave out the path and --id-pattern")
    else:
        check_assignment(root, args.assignment)
        if not args.submissions:
            raise UsageError("pdl-grade grade needs the submissions (the LMS's download, a folder), or --course DIR "
                             "for a JupyterHub course")
    _check_late_penalty(args)
    out = _output_folder(_out_value(args, course))
    roster = _roster(args, out)
    _check_lms(args, roster, [args.assignment])
    pattern = compile_pattern(args.id_pattern) if args.id_pattern else None
    try:  # the hidden tests' setup runs here: data they cannot load stops the run now, with the loader's reason
        planned = plan_source(root, args.assignment)
    except DataError as exc:
        raise UsageError(f"{args.assignment} needs the course data, which cannot be loaded: {exc}") from exc
    if course is not None:
        intake = collect(course.path("submitted"), args.assignment, roster=roster, layout=Nbgrader(args.assignment))
        renamed = [name for s in intake.submissions if (name := hub_course.nbgrader_id(course, s)) != ascii_id(name)]
        if renamed:
            raise IntakeError(f"student folders in {course.path('submitted')} that are not plain ids, which the "
                              f"course's gradebook would not match: {_names(renamed)}")
    else:
        intake = collect(Path(args.submissions).expanduser().absolute(), args.assignment, roster=roster,
                         pattern=pattern)
    return out, roster, intake, planned


def cmd_grade(args: argparse.Namespace) -> int:
    root = find_root(args.root)
    if not args.unsafe_no_sandbox and not Sandbox.available():
        raise UsageError("bubblewrap (bwrap) is not installed, so student code cannot be sandboxed. "
                         "Install it (apt-get install bubblewrap) or, at your own risk, pass --unsafe-no-sandbox.")
    course = _course(args)
    if course is None:
        return _grade(root, args, None)
    # DIR/source's hidden tests are the ones graded (as nbgrader autograde grades with them)
    with hub_course.grading_root(course, args.assignment) as grading_root:
        return _grade(grading_root, args, course)


def _grade(root: Path, args: argparse.Namespace, course: HubCourse | None) -> int:
    out, roster, intake, planned = _preflight(root, args, course)
    seconds_late = hub_course.stamp_late(course, args.assignment, intake.submissions) if course else {}
    options = Options(workers=args.workers, cell_timeout=args.timeout, total_timeout=args.notebook_timeout,
                      sandbox=not args.unsafe_no_sandbox, gpu=args.gpu, memory_mib=args.memory,
                      warm=not args.no_fork_server, threads=args.threads, data_dir=_data_dir(), roster=roster)
    options.gpu_devices = sandbox_devices(args.gpu)
    created = _first_created(out)
    failures = 0
    fresh: set[str] = set()
    try:
        # transient: an error, or the summary, replaces the bar
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                      TextColumn("failed: {task.fields[failed]}"), console=console, transient=True,
                      disable=args.quiet) as progress:
            task = progress.add_task(f"grading {args.assignment}", total=None, rate="", failed=0)

            def on_start(total: int, done: int) -> None:
                progress.update(task, total=total, completed=done)

            def on_result(result: Result) -> None:
                nonlocal failures
                fresh.add(result.student_id)
                failures += result.status != Status.GRADED
                elapsed = progress.tasks[0].elapsed or 1e-9
                progress.update(task, advance=1, failed=failures,
                                rate=f"{progress.tasks[0].completed / elapsed:.2f}/s")

            batch = grade(root, args.assignment, intake, out, options,
                          make_backend(args.backend, options, args.address),
                          on_result=on_result, on_start=on_start, planned=planned)
    except (*INSTRUCTOR_ERRORS, DataError, UsageError):
        if created is not None:  # no half-made output folder
            shutil.rmtree(created, ignore_errors=True)
        raise
    _remember(out, roster, args.late_penalty)
    db_url = batch.assignment.db_url
    if course is not None:  # the course's gradebook and autograded/, as nbgrader autograde leaves them
        recorded = hub_course.publish(course, args.assignment, batch.results.values(), set(batch.results) - fresh)
        db_url = course.db_url
    written, summary = _write_grades(out, db_url, list(batch.results.values()), args, roster)
    for error in batch.record_errors:
        console.print(f"[red]could not record[/] {error} (the result is stored: rerun to record it)")
    batch.gpu_devices = options.gpu_devices
    _summary(batch, args.unsafe_no_sandbox, summary, seconds_late)
    console.print(f"wrote {', '.join(str(p) for p in written)}, {out / 'gradebook.db'}, {out / 'feedback'}/",
                  soft_wrap=True)
    _write_report(out)
    if course is not None:
        console.print(f"recorded {recorded} submissions in the course's gradebook ({course.db_url}) and "
                      f"{course.path('autograded')}/ (no hidden tests); then: pdl-grade feedback --course {course.root}",
                      soft_wrap=True)
    return 0


def _write_report(out: Path, required: bool = False) -> None:
    """The class report, after the grades: its cost is paid once per command, never per submission.

    After grade and export the grades are written already, so a report that cannot be made is a warning there."""
    try:
        page = report.write_report(out)
    except Exception as exc:  # the grades stand: a report that fails must not hide them
        if required:
            raise
        _warn(f"no class report ({type(exc).__name__}: {exc}); pdl-grade report --out {out} retries it")
        return
    console.print(f"wrote {page} (the class report: item statistics, similarity)", soft_wrap=True)


def cmd_report(args: argparse.Namespace) -> int:
    course = _course(args)
    _write_report(_output_folder(_out_value(args, course)), required=True)
    return 0


def _gradebook_url(value: str) -> tuple[Path, str]:
    """The output folder and the gradebook that ``grade`` wrote into it."""
    out = _output_folder(value)
    db = out / "gradebook.db"
    if not db.is_file():
        raise UsageError(f"no gradebook at {db}; run pdl-grade grade with --out {value} first")
    return out, f"sqlite:///{db}"


def cmd_export(args: argparse.Namespace) -> int:
    course = _course(args)
    out, db_url = _gradebook_url(_out_value(args, course))
    db_url = course.db_url if course is not None else db_url  # formgrader's manual grades are in the course's
    _check_late_penalty(args)
    roster = _roster(args, out)
    results = latest(out / "results")
    _check_lms(args, roster, sorted({r.assignment for r in results}))
    written, summary = _write_grades(out, db_url, results, args, roster)
    _remember(out, roster if args.roster else None, args.late_penalty)
    for path in written:
        console.print(f"wrote {path}", soft_wrap=True)
    _write_report(out)  # manual grades now count in it too
    pending = [r["student_id"] for r in summary if int(r["needs_manual_grading"] or 0)]
    if pending:
        _warn(f"{len(pending)} students still have written answers to grade in formgrader "
              f"(column needs_manual_grading): {_names(pending)}")
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    course = _course(args)
    out, db_url = _gradebook_url(_out_value(args, course))
    released = exchange_feedback.Released()
    for result in latest(out / "results"):
        if args.student and result.student_id not in args.student:
            continue
        if course is None:
            console.print(f"wrote {feedback.write(out, db_url, result.to_dict())}", soft_wrap=True)
        elif result.status != Status.MISSING:  # scores (manual grades too) from the course's gradebook
            page = feedback.write(out, course.db_url, result.to_dict())
            exchange_feedback.place(course, result.assignment, result.student_id, page, released)
    for path in released.written:
        console.print(f"wrote {path}", soft_wrap=True)
    if released.skipped:
        _warn(f"{len(released.skipped)} submissions have no submission_secret.txt (not submitted through nbgrader's "
              f"exchange), so their pages stay in {out / 'feedback'}: {_names(released.skipped)}")
    if course is not None:
        console.print(f"then, in {course.root}: nbgrader release_feedback <assignment>", soft_wrap=True)
    return 0


def _fraction(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (0.1 takes 10% off a late score)") from None


def _lms_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--roster", help="the LMS's class list: a Canvas gradebook export, a Moodle grading worksheet, or "
                                    "a CSV with student_id (one id per line also works). Every student on it gets a row "
                                    "(missing when nothing was submitted); kept in --out for later exports")
    p.add_argument("--lms", choices=lms_export.LMS_KINDS,
                   help="also write grades_<lms>.csv: the --roster file with this assignment's grade filled, "
                        "for the LMS's own import")
    p.add_argument("--lms-column", metavar="NAME",
                   help="the Canvas gradebook column to fill (default: the one whose header starts with the "
                        "assignment's name)")
    p.add_argument("--missing-as-zero", action="store_true",
                   help="give students without a submission 0 in the LMS file (default: leave their grade empty)")
    p.add_argument("--late-penalty", type=_fraction, default=None, metavar="FRACTION",
                   help="scale the score of a submission the LMS marks late by (1 - FRACTION); default: no penalty")


def _course_option(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--course", metavar="DIR", help=f"a JupyterHub course as nbgrader has it (its nbgrader_config.py: "
                                                   f"course id, exchange, gradebook, due dates): {what}")


def parser() -> argparse.ArgumentParser:
    defaults = Options()  # the flags' defaults come from one source (model.Options, its limits from pdl.limits)
    common = argparse.ArgumentParser(add_help=False)  # accepted before or after the subcommand
    common.add_argument("--root", type=Path, default=argparse.SUPPRESS,
                        help="course root (default: found from the current folder, else pdl-grade's own checkout)")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the traceback of an error")
    p = argparse.ArgumentParser(prog="pdl-grade", description="Release and grade the course's nbgrader assignments.",
                                parents=[common])
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("release", help="generate student versions in exercises/ from solutions/", parents=[common])
    r.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    _course_option(r, "write DIR/release/<a> and record it in DIR's gradebook (nbgrader's generate_assignment with "
                      "DIR's config; solutions/<a> is copied to DIR/source/<a> unless the course has its own)")
    r.set_defaults(func=cmd_release)

    g = sub.add_parser("grade", help="grade a class of submissions in sandboxes", parents=[common])
    g.add_argument("assignment")
    g.add_argument("submissions", nargs="?", help="the LMS's download as it comes (Canvas, Moodle, Blackboard; folder "
                                                  "or .zip), nbgrader's submitted/, or a folder with one sub-folder "
                                                  "per student (with --course: none, DIR/submitted is read)")
    g.add_argument("--out", help="output folder: gradebook, CSVs, feedback, results (with --course: default "
                                 f"DIR/{hub_course.OUTPUT_FOLDER})")
    _course_option(g, "grade DIR/submitted/<student>/<assignment>/ with DIR/source's tests; late from timestamp.txt "
                      "and DIR's due date; scores into DIR's gradebook and autograded/")
    g.add_argument("--id-pattern", metavar="REGEX",
                   help="for another LMS: a regular expression with a (?P<student_id>...) group, searched in each "
                        "file's path (optional groups: name, timestamp, late), as nbgrader's zip_collect")
    g.add_argument("--workers", type=int, default=defaults.workers,
                   help="kernels at a time (default: one more than the cores, %(default)s here; local backend; "
                        "on Ray each node runs one per CPU it offers)")
    g.add_argument("--timeout", type=int, default=defaults.cell_timeout, help="seconds per cell (default %(default)s)")
    g.add_argument("--notebook-timeout", type=int, default=defaults.total_timeout,
                   help="seconds per notebook (default %(default)s)")
    g.add_argument("--memory", type=int, default=defaults.memory_mib, metavar="MIB",
                   help="memory per kernel in MiB (cgroup limit; default %(default)s)")
    g.add_argument("--threads", type=int, default=None, metavar="N",
                   help="BLAS/PyTorch threads per kernel (default: the cores divided among the workers, at least 1; "
                        "local backend)")
    g.add_argument("--gpu", choices=["auto", "off"], default=defaults.gpu, help="use a GPU when there is one")
    g.add_argument("--backend", choices=["local", "ray"], default="local")
    g.add_argument("--address", default=None, help="Ray cluster address (with --backend ray)")
    _lms_options(g)
    g.add_argument("--no-fork-server", action="store_true",
                   help="start every kernel from scratch instead of forking it from a warm server (slower)")
    g.add_argument("--unsafe-no-sandbox", action="store_true", help="run student code without bwrap (unsafe)")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.set_defaults(func=cmd_grade)

    e = sub.add_parser("export", help="write grades.csv and grades_long.csv (and the LMS's import file) from the "
                                      "gradebook, manual grades included", parents=[common])
    e.add_argument("--out", help=f"the output folder of grade (with --course: default DIR/{hub_course.OUTPUT_FOLDER})")
    _course_option(e, "scores from DIR's gradebook (manual grades given in DIR's formgrader included)")
    _lms_options(e)
    e.set_defaults(func=cmd_export)

    rp = sub.add_parser("report", help="write report.html, item_stats.csv and similarity.csv into the output folder "
                                       "(grade and export also do)", parents=[common])
    rp.add_argument("--out", help=f"the output folder of grade (with --course: default DIR/{hub_course.OUTPUT_FOLDER})")
    _course_option(rp, "the report of the course's grading output folder")
    rp.set_defaults(func=cmd_report)

    f = sub.add_parser("feedback", help="write per-student HTML feedback without hidden tests", parents=[common])
    f.add_argument("--out", help=f"the output folder of grade (with --course: default DIR/{hub_course.OUTPUT_FOLDER})")
    _course_option(f, "also write each page as DIR/feedback/<student>/<assignment>/<notebook>.html with the "
                      "submission's timestamp.txt and submission_secret.txt, for nbgrader release_feedback")
    f.add_argument("--student", action="append", help="only these students (repeatable)")
    f.set_defaults(func=cmd_feedback)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.root, args.debug = getattr(args, "root", None), getattr(args, "debug", False)  # set before or after the command
    try:
        return args.func(args)
    except (*INSTRUCTOR_ERRORS, DataError, UsageError) as exc:
        if args.debug:
            traceback.print_exc()
        _error(str(exc))
        return 2


if __name__ == "__main__":
    sys.exit(main())
