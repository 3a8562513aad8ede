"""Each finished result -> nbgrader's gradebook at once; feedback files at the end, in parallel.

One thread writes the gradebook, in order (nbgrader's sqlite gradebook wants a single
writer), while the grading loop keeps driving kernels. Rendering the HTML feedback costs
more than the gradebook (~0.2 s of Jinja and HTML parsing per student), so it waits until
the kernels are done and then uses every worker, in forked processes. A crash before that
loses nothing: a rerun writes the feedback files that are missing.
"""
from __future__ import annotations

import multiprocessing
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from . import feedback, gradebook, shared_gradebook

if TYPE_CHECKING:
    from .grade import Assignment

_TODO: list[dict[str, Any]] = []  # what forked feedback workers render, by index (nothing to pickle)
_ASSIGNMENT: "Assignment | None" = None


def _render(index: int) -> str | None:
    result = _TODO[index]
    try:
        feedback.write(_ASSIGNMENT.out, _ASSIGNMENT.db_url, result)
    except Exception as exc:  # noqa: BLE001 (reported; a rerun writes it)
        return f"{result['student_id']}: feedback: {type(exc).__name__}: {exc}"
    return None


class Recorder:
    def __init__(self, assignment: "Assignment", workers: int = 1):
        self.assignment = assignment
        self.workers = max(1, workers)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdl-recorder")
        self._pending: list[Future] = []
        self._feedback: list[dict[str, Any]] = []
        self.errors: list[str] = []

    def put(self, result: dict[str, Any], fresh: bool = True) -> None:
        """Queue one result; a reused one (``fresh=False``) keeps its feedback file if it has one."""
        self._pending.append(self._pool.submit(self._write, result, fresh))

    def _write(self, result: dict[str, Any], fresh: bool) -> None:
        try:
            gradebook.record(self.assignment, [result])
        except Exception as exc:  # noqa: BLE001 (reported; the stored result is safe and a rerun redoes it)
            self.errors.append(f"{result['student_id']}: gradebook: {type(exc).__name__}: {exc}")
            return
        if fresh or not feedback.feedback_path(self.assignment.out, result).is_file():
            self._feedback.append(result)

    def close(self) -> list[str]:
        """Finish the gradebook, then render the feedback; return what could not be written."""
        for future in self._pending:
            future.result()
        self._pool.submit(shared_gradebook.close_all).result()
        self._pool.shutdown()
        shared_gradebook.close_all()  # no open SQLite connection may cross a fork
        self.errors += self._render_feedback()
        return self.errors

    def _render_feedback(self) -> list[str]:
        global _ASSIGNMENT
        _TODO[:], _ASSIGNMENT = self._feedback, self.assignment
        try:
            if self.workers == 1 or len(_TODO) < 8:
                outcomes = [_render(i) for i in range(len(_TODO))]
            else:
                with multiprocessing.get_context("fork").Pool(self.workers) as pool:
                    outcomes = pool.map(_render, range(len(_TODO)), chunksize=4)
        finally:
            shared_gradebook.close_all()
            _TODO.clear()
        return [o for o in outcomes if o]
