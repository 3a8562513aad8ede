"""One JSON file per graded submission, written atomically, keyed by student and content.

``results/<student>/<key>.json`` where key = sha256(grading plan + submission bytes).
A rerun skips every key that is already there (resume after a crash; no regrading of
an unchanged submission) and a changed resubmission gets a new key.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def result_key(plan_digest: str, submission_digest: str) -> str:
    return hashlib.sha256(f"{plan_digest}:{submission_digest}".encode()).hexdigest()[:32]


TMP_PREFIX = ".tmp-"


class ResultStore:
    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob(f"*/{TMP_PREFIX}*"):  # half-written by a grader that was killed
            stale.unlink(missing_ok=True)

    def stored(self) -> list[Path]:
        """Every complete result file (never a half-written one)."""
        return [p for p in self.folder.glob("*/*.json") if not p.name.startswith(TMP_PREFIX)]

    def path(self, student_id: str, key: str) -> Path:
        return self.folder / student_id / f"{key}.json"

    def has(self, student_id: str, key: str) -> bool:
        return self.path(student_id, key).is_file()

    def load(self, student_id: str, key: str) -> dict[str, Any]:
        return json.loads(self.path(student_id, key).read_text())

    def save(self, student_id: str, key: str, result: dict[str, Any]) -> Path:
        """Write-then-rename: a reader (or a rerun after kill -9) sees all of it or none."""
        target = self.path(student_id, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=TMP_PREFIX, suffix=".json")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(json.dumps(result))  # json.dump would use the pure-Python encoder
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target
