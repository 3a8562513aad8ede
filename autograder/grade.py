"""Grade a class: intake -> restore -> plan -> sandboxed execution -> verdicts -> results.

Everything that decides a grade runs here, in the trusted process. Workers (local
or Ray) only execute a prepared notebook in a sandbox and send back outputs and
probe values. Each finished submission is judged and its result written at once,
so a crash loses nothing and a rerun grades only what is missing.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import nbformat
from nbformat import NotebookNode

from pdl.kernel.probe import Unreadable, decode_outcome

from . import release, repairs, shared_gradebook
from .intake import Intake, Submission, collect
from .model import Assignment, CellResult, GradeError, Job, Options, PrepareError, Result, Status
from .plans import TestPlan, hidden_cell, is_test_cell, plan_assignment
from .recorder import Recorder
from .restore import changes, restore
from .results import ResultStore, result_key
from .runtime.execute import HIDDEN_OF, Execution
from .runtime.forkserver_client import preload_modules
from .runtime.sandbox import GRADING_KERNEL_MODULE, KERNEL_SETUP
from .verdicts import UNREADABLE, CellVerdict, judge, redact_hidden, verdict_outputs

if TYPE_CHECKING:
    from .backends import Backend


@dataclass
class Batch:
    assignment: Assignment
    submissions: list[Submission]
    results: dict[str, Result] = field(default_factory=dict)  # student -> result
    reused: int = 0
    elapsed: float = 0.0
    record_errors: list[str] = field(default_factory=list)  # gradebook/feedback writes that failed
    gpu_devices: list[str] = field(default_factory=list)
    intake: Intake | None = None  # the download's layout and what did not fit it


def write_course_source(solutions: Path, target: Path) -> None:
    """formgrader's source/<assignment>/: the instructor's folder, each test cell's hidden block replaced by a note.

    The output folder holds no hidden test (the grader reads them from solutions/, outside it).
    """
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(solutions, target, ignore=shutil.ignore_patterns(*release.IGNORE))
    for path in target.rglob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if is_test_cell(cell):
                cell.source = redact_hidden(cell.source)
        nbformat.write(nb, path)


Planned = tuple[NotebookNode, dict[str, TestPlan]]  # the instructor's notebook and its test plans


def plan_source(root: Path, name: str) -> Planned:
    """Read and plan the instructor's notebook (its hidden tests' setup runs here): once per run."""
    source = nbformat.read(release.source_notebook(root, name), as_version=4)
    return source, plan_assignment(source)


def prepare(root: Path, name: str, out: Path, planned: Planned) -> Assignment:
    """Record the assignment in ``out``'s gradebook and keep its plans."""
    source_path = release.source_notebook(root, name)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise GradeError(f"cannot write to the output folder {out}: {exc.strerror or exc}") from exc
    write_course_source(source_path.parent, out / "source" / name)
    released_path = release.generate(root, name, out / "release", db_path=out / "gradebook.db")
    source, plans = planned
    digest = hashlib.sha256()
    for cell in source.cells:
        if "nbgrader" in cell.metadata:
            digest.update(json.dumps([cell.source, dict(cell.metadata.nbgrader)], sort_keys=True).encode())
    digest.update(json.dumps({k: [p.kernel_source, p.hidden_source] for k, p in sorted(plans.items())}).encode())
    return Assignment(name, out, source, nbformat.read(released_path, as_version=4), plans, digest.hexdigest())


def make_job(assignment: Assignment, sub: Submission, options: Options) -> tuple[Job, NotebookNode, str]:
    """Restore the submission and replace its test cells by their kernel halves.

    The hidden parts run last, in one appended cell (``plans.hidden_cell``) marked with the index of the test
    cell each part belongs to (``runtime.execute.HIDDEN_OF``): the runner keeps none of its outputs and no
    student cell runs after it. The cell itself still runs where it stands (its public part
    and a snapshot of the student's names), so execution counts and everything before and after it stay as
    they were."""
    notebook, report = repairs.repair(sub.notebook, assignment.released)  # honest accidents; usually a no-op
    report += changes(notebook, assignment.released)
    # restore() may change the submission's notebook, which nothing reads after this, and returns a new one
    restored = restore(notebook, assignment.db_url, assignment.name, assignment.name)
    # the cells to run: the restored ones, test cells replaced by new ones (never changed in place:
    # the restored notebook is judged and shown; the runner works on its own copy of the job's)
    cells = [NotebookNode({**cell, "source": assignment.plans[cell.metadata.nbgrader["grade_id"]].kernel_source})
             if is_test_cell(cell) else cell for cell in restored.cells]
    hidden = {gid: index for index, cell in enumerate(restored.cells) if is_test_cell(cell)
              and assignment.plans[gid := cell.metadata.nbgrader["grade_id"]].hidden_source}
    if hidden:
        cells.append(NotebookNode(cell_type="code", outputs=[], execution_count=None,
                                  source=hidden_cell([assignment.plans[gid] for gid in hidden], options.cell_timeout),
                                  metadata=NotebookNode({HIDDEN_OF: hidden})))
    runnable = NotebookNode({**restored, "cells": cells})
    key = result_key(assignment.digest, sub.digest)
    job = Job(sub.student_id, key, runnable, options.cell_timeout, options.total_timeout)
    return job, restored, "; ".join(report)


def verdicts(assignment: Assignment, restored: NotebookNode, execution: Execution) -> dict[str, CellVerdict]:
    """Judge every test cell from the probe values its own cell produced."""
    found: dict[str, CellVerdict] = {}
    for index, cell in enumerate(restored.cells):
        if not is_test_cell(cell):
            continue
        grade_id = cell.metadata.nbgrader["grade_id"]
        outcomes: dict[str, list] = {}
        for cell_index, probe_id, text in execution.probes:
            if cell_index == index and probe_id.startswith(grade_id + "#"):
                try:
                    outcomes.setdefault(probe_id, []).append(decode_outcome(text))
                except Unreadable:  # not what emit_all sends: tampering, judged as such for this check
                    outcomes.setdefault(probe_id, []).append(UNREADABLE)
        found[grade_id] = judge(assignment.plans[grade_id], outcomes)
    return found


def shown_tests(assignment: Assignment) -> dict[str, tuple[str, str]]:
    """grade_id -> (the test cell as released, as shown after grading: the hidden block replaced by a note)."""
    released = {c.metadata.nbgrader["grade_id"]: c.source for c in assignment.released.cells if is_test_cell(c)}
    return {gid: (released[gid], redact_hidden(c.source)) for c in assignment.source.cells
            if is_test_cell(c) and (gid := c.metadata.nbgrader["grade_id"]) in released}


def graded_notebook(restored: NotebookNode, execution: Execution, found: dict[str, CellVerdict],
                    shown: dict[str, tuple[str, str]] | None = None) -> NotebookNode:
    """The restored notebook with the student's outputs, and each test cell showing its verdict.

    A failed verdict is an error output, so nbgrader's own scoring (SaveAutoGrades)
    gives the cell 0, and a passed one is plain stdout, which gets full points. It is stored in
    results/, so it holds what the student may see: the public messages, and each test cell as
    released with a note where its hidden block was (``shown``, from ``shown_tests``).
    """
    # new cells whose changed fields are replaced, never changed in place: the rest is shared with ``restored``
    nb = NotebookNode({**restored, "cells": []})
    for index, cell in enumerate(restored.cells):
        cell = NotebookNode(cell)
        nb.cells.append(cell)
        if cell.cell_type != "code":
            continue
        cell.outputs = execution.cells[index].get("outputs", []) if index < len(execution.cells) else []
        cell.execution_count = execution.cells[index].get("execution_count") if index < len(execution.cells) else None
        if is_test_cell(cell):
            gid = cell.metadata.nbgrader["grade_id"]
            verdict = found[gid]
            if shown and gid in shown:  # restored as released (a re-added cell has a note before it)
                given, note = shown[gid]
                cell.source = cell.source[:-len(given)] + note if cell.source.endswith(given) else note
            cell.outputs = verdict_outputs(verdict.passed, verdict.public_messages)
            cell.metadata = NotebookNode({**cell.metadata, "pdl": {"public_messages": verdict.public_messages,
                                                                    "passed": verdict.passed}})
    return nb


def finish(assignment: Assignment, sub: Submission, job: Job, restored: NotebookNode, report: str,
           execution: Execution) -> Result:
    """Judge one execution and build its stored result.

    A notebook whose kernel died, did not start or ran out of time is broken: the student
    scores 0 (as in nbgrader, which cannot grade it at all), with the reason in every cell.
    """
    found = verdicts(assignment, restored, execution)
    error = execution.error
    if error is not None and error.fatal:
        reason = f"{execution.message.splitlines()[0] if execution.message else error}; " \
                 "a notebook that does not run to the end scores 0"
        found = {gid: CellVerdict(gid, False, [reason], [reason]) for gid in found}
    nb = graded_notebook(restored, execution, found, shown_tests(assignment))
    points = assignment.points()
    # results/ is in the output folder: the instructor-only detail (hidden probes, expected values) is not stored
    cells = [CellResult.judged(gid, points[gid], v.passed, v.public_messages, v.public_messages)
             for gid, v in found.items()]
    message = "; ".join(filter(None, [sub.message, report, execution.message,
                                      "some output was truncated" if execution.truncated else ""]))
    return Result(sub.student_id, assignment.name, job.key, error or sub.status.after_run(), message, cells, nb,
                  round(execution.seconds, 3), execution.compute_seconds, sub.display_name, sub.late)


def failed_result(assignment: Assignment, sub: Submission, key: str) -> Result:
    """The result of a submission that never ran: every cell 0, with the reason."""
    points = assignment.points()
    cells = [CellResult.judged(gid, points[gid], False, [sub.message], [sub.message]) for gid in assignment.plans]
    return Result(sub.student_id, assignment.name, key, sub.status, sub.message, cells, None, 0.0, 0.0,
                  sub.display_name, sub.late)


def grade(root: Path, name: str, submissions_path: "Path | Intake", out: Path, options: Options, backend: Backend,
          on_result: Callable[[Result], None] | None = None,
          on_start: Callable[[int, int], None] | None = None, planned: Planned | None = None) -> Batch:
    """Grade every submission that has no stored result yet; return all results of this class.
    ``planned``: ``plan_source``'s result when the caller has it already."""
    planned = planned or plan_source(root, name)
    options.preload = preload_modules([planned[0]], ["pdl.kernel.probe", *KERNEL_SETUP, GRADING_KERNEL_MODULE])
    recorder = Recorder()  # first: it forks
    backend.prestart()  # e.g. fork servers importing while the batch is prepared
    try:
        return _grade(root, name, submissions_path, out, options, backend, recorder, on_result, on_start, planned)
    finally:
        recorder.close()  # already closed unless preparing the batch failed
        backend.close()


def _grade(root: Path, name: str, submissions_path: "Path | Intake", out: Path, options: Options, backend: Backend,
           recorder: Recorder, on_result: Callable[[Result], None] | None,
           on_start: Callable[[int, int], None] | None, planned: Planned) -> Batch:
    assignment = prepare(root, name, out, planned)
    # the CLI collects first (an unreadable download stops it before anything starts)
    intake = submissions_path if isinstance(submissions_path, Intake) else \
        collect(submissions_path, name, roster=options.roster, pattern=options.id_pattern)
    subs = intake.submissions
    batch = Batch(assignment, subs, intake=intake)
    store = ResultStore(out / "results" / name)
    recorder.begin(assignment)
    pending: dict[str, tuple[Submission, NotebookNode, str]] = {}
    jobs: list[Job] = []

    def keep(result: Result, fresh: bool = True) -> None:
        if fresh:
            store.save(result)
        batch.results[result.student_id] = result
        recorder.put(result, fresh)  # queued as plain data for the writer process
        if on_result and fresh:
            on_result(result)

    for sub in subs:
        key = result_key(assignment.digest, sub.digest or sub.status)
        if store.has(sub.student_id, key):
            stored = store.load(sub.student_id, key)
            if not stored.status.retried:
                # the name and late mark come from the download, not the bytes that key the result
                keep(dataclasses.replace(stored, display_name=sub.display_name, late=sub.late), fresh=False)
                batch.reused += 1
                continue
        if not sub.status.runs:
            keep(failed_result(assignment, sub, key))
            continue
        pending[sub.student_id] = (sub, None, "")

        def deferred(sub: Submission = sub) -> dict[str, Any]:
            try:
                job, restored, report = make_job(assignment, sub, options)
            except repairs.Unmatchable as exc:
                raise PrepareError(str(exc)) from exc
            except Exception as exc:  # nbgrader rejects broken metadata with many errors (re-raised as one)
                raise PrepareError(f"the notebook's grading metadata is broken: {exc}"[:500]) from exc
            pending[sub.student_id] = (sub, restored, report)
            return job.notebook

        jobs.append(Job(sub.student_id, key, None, options.cell_timeout, options.total_timeout, deferred))
    if on_start:
        on_start(len(subs), len(subs) - len(jobs))

    def done(job: Job, execution: Execution) -> None:
        sub, restored, report = pending[job.student_id]
        if restored is None:  # it could not be prepared, so it never ran
            sub.status, sub.message = Status.INVALID_NOTEBOOK, execution.message
            keep(failed_result(assignment, sub, job.key))
            return
        try:
            result = finish(assignment, sub, job, restored, report, execution)
        except Exception as exc:  # noqa: BLE001 (a grader bug must cost one student, not the batch)
            sub.status = Status.GRADER_ERROR
            sub.message = f"the grader failed on this submission: {type(exc).__name__}: {exc}"
            result = failed_result(assignment, sub, job.key)
        keep(result)

    started = time.monotonic()
    try:
        if jobs:
            backend.run(jobs, done)
    finally:
        batch.record_errors = recorder.close()
        shared_gradebook.close_all()
    batch.elapsed = time.monotonic() - started
    return batch
