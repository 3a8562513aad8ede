"""Each finished result -> nbgrader's gradebook and the student's feedback file, in the background.

One thread does all of it, in order: nbgrader's sqlite gradebook wants a single writer,
and the grading loop keeps driving kernels meanwhile instead of waiting on SQLAlchemy and
Jinja. ``close`` waits until everything queued is written.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from . import feedback, gradebook, shared_gradebook

if TYPE_CHECKING:
    from .grade import Assignment


class Recorder:
    def __init__(self, assignment: "Assignment"):
        self.assignment = assignment
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdl-recorder")
        self._pending: list[Future] = []
        self.errors: list[str] = []

    def put(self, result: dict[str, Any], fresh: bool = True) -> None:
        """Queue one result; a reused one (``fresh=False``) keeps its feedback file if it has one."""
        self._pending.append(self._pool.submit(self._write, result, fresh))

    def _write(self, result: dict[str, Any], fresh: bool) -> None:
        try:
            gradebook.record(self.assignment, [result])
            path = feedback.feedback_path(self.assignment.out, result)
            if fresh or not path.is_file():
                feedback.write(self.assignment.out, self.assignment.db_url, result)
        except Exception as exc:  # noqa: BLE001 (reported; the stored result is safe and a rerun redoes it)
            self.errors.append(f"{result['student_id']}: {type(exc).__name__}: {exc}")

    def close(self) -> list[str]:
        for future in self._pending:
            future.result()
        self._pool.submit(shared_gradebook.close_all).result()
        self._pool.shutdown()
        return self.errors
