"""Each finished result -> nbgrader's gradebook and the student's feedback file, in a writer process.

nbgrader's sqlite gradebook wants a single writer, and its SaveAutoGrades (an ORM query
and a commit per cell) plus the HTML feedback cost ~0.1 s of CPU per student. In a thread
of the grading process they would hold the GIL that drives the kernels; in a process of
their own they run on another core, in order, while the grading loop goes on. A crash
loses nothing: every result is stored before it is queued here, and a rerun records
them all again and writes the feedback files that are missing.
"""
from __future__ import annotations

import dataclasses
import multiprocessing
import os
import queue
import signal
from typing import Any

from . import feedback, formgrader, gradebook, shared_gradebook
from .model import Assignment, Result

POLL = 1.0  # seconds between checks that the grading process is still there


def _record(assignment: Assignment, result: Result, fresh: bool) -> list[str]:
    data = result.to_dict()  # gradebook.record and feedback take the stored form (no copy of the notebook)
    try:
        gradebook.record(assignment, [data], unchanged=not fresh)
    except Exception as exc:  # noqa: BLE001 (reported; the stored result is safe and a rerun redoes it)
        return [f"{result.student_id}: gradebook: {type(exc).__name__}: {exc}"]
    if fresh or not feedback.feedback_path(assignment.out, data).is_file():
        try:
            feedback.write(assignment.out, assignment.db_url, data)
        except Exception as exc:  # noqa: BLE001 (reported; a rerun writes it)
            return [f"{result.student_id}: feedback: {type(exc).__name__}: {exc}"]
    return []


def _writer(todo: Any, done: Any, parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the grader, which then closes the queue
    errors: list[str] = []
    assignment: Assignment | None = None
    while True:
        try:
            item = todo.get(timeout=POLL)
        except queue.Empty:
            if os.getppid() != parent:  # the grader was killed: what is stored is safe, stop
                os._exit(0)
            continue
        if item is None:
            break
        if isinstance(item, tuple) and item[0] == "assignment":
            assignment = item[1]
            try:
                formgrader.write_course(assignment.out)
            except OSError as exc:  # reported; grading goes on
                errors.append(f"formgrader's nbgrader_config.py: {exc}")
            continue
        assert assignment is not None
        data, fresh = item
        errors += _record(assignment, Result.from_dict(data), fresh)
    shared_gradebook.close_all()
    done.put(errors)


class Recorder:
    """The writer process. Start it before anything else has children or sockets: a fork copies
    every open file descriptor, and a fork server's stdin held open here would never see EOF."""

    def __init__(self) -> None:
        shared_gradebook.close_all()  # no open SQLite connection may cross the fork
        context = multiprocessing.get_context("fork")
        self._todo, self._done = context.Queue(), context.Queue()
        self._process = context.Process(target=_writer, name="pdl-recorder", daemon=True,
                                        args=(self._todo, self._done, os.getpid()))
        self._process.start()
        self.errors: list[str] = []
        self._queued = 0
        self._closed = False

    def begin(self, assignment: Assignment) -> None:
        """What the results that follow belong to (known once the batch is prepared)."""
        # without its plans: they hold the instructor's expectations, which may be lambdas (not
        # picklable), and the writer needs only the names and paths
        self._todo.put(("assignment", dataclasses.replace(assignment, plans={})))

    def put(self, result: Result, fresh: bool = True) -> None:
        """Queue one result; a reused one (``fresh=False``) keeps its feedback file if it has one."""
        # plain data on the queue (the stored form, as results.py writes it); a Result again in the writer
        self._todo.put((result.to_dict(), fresh))
        self._queued += 1

    def close(self) -> list[str]:
        """Wait until the writer has recorded everything; return what could not be written."""
        if self._closed:
            return self.errors
        self._closed = True
        self._todo.put(None)
        while True:
            try:
                self.errors += self._done.get(timeout=POLL)
                break
            except queue.Empty:
                if not self._process.is_alive():
                    self._todo.cancel_join_thread()  # what it did not take must not hold up our exit
                    self.errors.append(f"the gradebook writer stopped (exit code {self._process.exitcode}) "
                                       f"before it had recorded all {self._queued} results: rerun to record them")
                    break
        self._process.join(5)
        self._todo.close()
        self._done.close()
        return self.errors
