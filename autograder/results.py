"""One JSON file per graded submission, written atomically, keyed by student and content.

``results/<student>/<key>.json`` where key = sha256(grading plan + submission bytes).
A rerun skips every key that is already there (resume after a crash; no regrading of
an unchanged submission) and a changed resubmission gets a new key. The file is
``Result.to_dict()`` (model.py), a format unchanged since the first stored results.

results/ is in the output folder, which holds no hidden test: a result holds what the student may
see (grade.py stores the public verdict messages in ``messages`` too, and test cells redacted).
Results stored by an earlier version, which kept the instructor's detail, are redacted in place
once per folder (``REDACTED_STAMP``), their modification times kept (``latest`` orders by them).
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import nbformat

from .feedback import redact
from .model import Result


def result_key(plan_digest: str, submission_digest: str) -> str:
    return hashlib.sha256(f"{plan_digest}:{submission_digest}".encode()).hexdigest()[:32]


TMP_PREFIX = ".tmp-"
REDACTED_STAMP = ".no-hidden-tests"  # in results/<assignment>/: every result in it is redacted


def without_hidden_tests(data: dict[str, Any]) -> dict[str, Any]:
    """A stored result (plain data) as this version stores it: test cells and verdicts as the student sees them."""
    cells = [{**cell, "messages": list(cell.get("public_messages") or [])} for cell in data.get("cells") or []]
    notebook = data.get("notebook")
    if notebook is not None:
        notebook = redact(nbformat.from_dict(json.loads(json.dumps(notebook))))  # redact() works in place
    return {**data, "cells": cells, "notebook": notebook}


def _write(target: Path, data: dict[str, Any]) -> None:
    """Write-then-rename: a reader (or a rerun after kill -9) sees all of it or none."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=TMP_PREFIX, suffix=".json")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(data))  # json.dump would use the pure-Python encoder
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ResultStore:
    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob(f"*/{TMP_PREFIX}*"):  # half-written by a grader that was killed
            stale.unlink(missing_ok=True)
        if not (folder / REDACTED_STAMP).is_file():
            self._redact_stored()

    def _redact_stored(self) -> None:
        """Rewrite the results an earlier version stored with hidden tests in them (once per folder)."""
        for path in self.stored():
            data = json.loads(path.read_text())
            safe = without_hidden_tests(data)
            if safe != data:
                times = path.stat()
                _write(path, safe)
                os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))
        (self.folder / REDACTED_STAMP).write_text("results here hold no hidden test source or expected value\n")

    def stored(self) -> list[Path]:
        """Every complete result file (never a half-written one)."""
        return [p for p in self.folder.glob("*/*.json") if not p.name.startswith(TMP_PREFIX)]

    def path(self, student_id: str, key: str) -> Path:
        return self.folder / student_id / f"{key}.json"

    def has(self, student_id: str, key: str) -> bool:
        return self.path(student_id, key).is_file()

    def load(self, student_id: str, key: str) -> Result:
        return self.read(self.path(student_id, key))

    @staticmethod
    def read(path: Path) -> Result:
        """One stored result (a path from ``stored()``)."""
        return Result.from_dict(json.loads(path.read_text()))

    def save(self, result: Result) -> Path:
        """Store ``result`` atomically (grade.py builds it redacted: nothing is removed here)."""
        target = self.path(result.student_id, result.key)
        _write(target, result.to_dict())
        return target


def latest(results_root: Path) -> list[Result]:
    """The newest stored result of each student and assignment under ``results/`` (what export and feedback use)."""
    newest: dict[tuple[str, str], tuple[float, Result]] = {}
    for assignment_dir in sorted(results_root.glob("*")):
        store = ResultStore(assignment_dir)
        for path in store.stored():
            result, mtime = store.read(path), path.stat().st_mtime
            key = (result.assignment, result.student_id)
            if key not in newest or mtime > newest[key][0]:
                newest[key] = (mtime, result)
    return [r for _, r in newest.values()]
