"""The grader's data: one status vocabulary, the per-submission Result, and what the stages pass along.

A leaf: it imports no other autograder module, so intake, the backends, the recorder and the
gradebook use these types without importing the orchestrator (grade.py). Every grading default
is here, in ``Options``, from ``pdl.limits`` (the limits ``pdl-check`` applies too).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Callable

from nbformat import NotebookNode
from nbgrader import utils

from pdl.limits import CELL_TIMEOUT_S, MEMORY_MIB, NOTEBOOK_TIMEOUT_S


class Status(StrEnum):
    """A student's status for one assignment: its value is what grades.csv, the results and the feedback say."""

    GRADED = "graded"  # the notebook ran to the end
    WRONG_NAME = "wrong_name"  # graded, but submitted under another file name
    # intake: nothing to grade (the message says why)
    MISSING = "missing"
    EMPTY_FILE = "empty_file"
    INVALID_JSON = "invalid_json"
    INVALID_NOTEBOOK = "invalid_notebook"  # also: grading metadata that nbgrader rejects
    SEVERAL_NOTEBOOKS = "several_notebooks"
    UNREADABLE = "unreadable"
    TOO_LARGE = "too_large"
    UNSAFE_ARCHIVE = "unsafe_archive"
    ZIP_BOMB = "zip_bomb"
    AMBIGUOUS_OWNER = "ambiguous_owner"  # a file whose LMS name fits two students (a forged name): refused
    # execution: the notebook did not run to the end
    TIMEOUT = "timeout"
    KERNEL_DIED = "kernel_died"
    KERNEL_FAILED = "kernel_failed"
    GRADER_ERROR = "grader_error"  # our failure, not the student's
    # grades.csv only: graded, but the student is not on the roster
    NOT_IN_ROSTER = "not_in_roster"
    # intake only: a readable notebook under the expected name (its result says GRADED)
    OK = "ok"

    @property
    def runs(self) -> bool:
        """The intake found a notebook to execute."""
        return self in _RUNS

    @property
    def fatal(self) -> bool:
        """The submission scores 0, whatever its cells did: nothing gradable, or it did not run to the end."""
        return self not in _SCORED

    @property
    def retried(self) -> bool:
        """A stored result with this status is graded again by a rerun: the grader's environment failed (a kernel
        that could not start, a grader bug), not the student's notebook, so a fixed environment grades it."""
        return self in _RETRIED

    def after_run(self) -> Status:
        """The result's status of a submission that ran to the end, given its intake status."""
        return Status.GRADED if self is Status.OK else self


_RUNS = frozenset({Status.OK, Status.WRONG_NAME})
_RETRIED = frozenset({Status.GRADER_ERROR, Status.KERNEL_FAILED})
_SCORED = frozenset({Status.GRADED, Status.WRONG_NAME, Status.NOT_IN_ROSTER, Status.OK})


@dataclass
class CellResult:
    """One autograded cell's score and what its verdict says (``public_messages``: the student's view)."""

    grade_id: str
    score: float
    max_score: float
    passed: bool
    messages: list[str] = field(default_factory=list)
    public_messages: list[str] = field(default_factory=list)

    @classmethod
    def judged(cls, grade_id: str, points: float, passed: bool, messages: list[str],
               public_messages: list[str]) -> CellResult:
        """The one rule for a cell's score: all its points if its verdict passed, else none."""
        return cls(grade_id, points if passed else 0.0, points, passed, messages, public_messages)

    def to_dict(self) -> dict[str, Any]:
        return {"grade_id": self.grade_id, "score": self.score, "max_score": self.max_score, "passed": self.passed,
                "messages": self.messages, "public_messages": self.public_messages}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CellResult:
        return cls(data["grade_id"], float(data["score"]), float(data["max_score"]), bool(data["passed"]),
                   list(data.get("messages") or []), list(data.get("public_messages") or []))


@dataclass
class Result:
    """One student's graded submission of one assignment, as stored in ``results/`` (results.py).

    ``to_dict`` writes the JSON that every earlier version stored (same keys, same order), so a
    results folder written before still resumes; ``from_dict`` reads it back.
    """

    student_id: str
    assignment: str
    key: str  # results.result_key: the grading plan and the submitted bytes
    status: Status
    message: str
    cells: list[CellResult]
    notebook: dict[str, Any] | None  # the graded notebook (a NotebookNode when fresh); None: nothing ran
    seconds: float = 0.0  # wall-clock seconds of the execution
    compute_seconds: float = 0.0  # the cells' own run time in the kernel
    display_name: str = ""  # from the LMS or the roster
    late: bool | None = None  # the LMS's late mark; None when it does not say

    @property
    def score(self) -> float:
        """The autograded cells' score. nbgrader computes it again from the graded notebook (export.py reads
        that one, manual grades added); tests/unit/test_export_rows.py asserts the two equal."""
        return sum(cell.score for cell in self.cells)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (the notebook is not copied): what results.py stores and the recorder receives."""
        return {"student_id": self.student_id, "assignment": self.assignment, "key": self.key,
                "status": self.status.value, "message": self.message, "cells": [c.to_dict() for c in self.cells],
                "notebook": self.notebook, "seconds": self.seconds, "compute_seconds": self.compute_seconds,
                "display_name": self.display_name, "late": self.late}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        """A stored result; ValueError for a status this version does not know."""
        return cls(data["student_id"], data["assignment"], data["key"], Status(data["status"]), data.get("message", ""),
                   [CellResult.from_dict(c) for c in data.get("cells") or []], data.get("notebook"),
                   float(data.get("seconds") or 0.0), float(data.get("compute_seconds") or 0.0),
                   data.get("display_name") or "", data.get("late"))


class GradeError(RuntimeError):
    """An instructor error found before anything is graded."""


class PrepareError(RuntimeError):
    """A submission that nbgrader's preprocessors reject (broken grading metadata)."""


@dataclass
class Assignment:
    """What the trusted process knows about one assignment, computed once per batch."""

    name: str
    out: Path
    source: NotebookNode  # instructor version, solutions and hidden tests included
    released: NotebookNode  # the student version
    plans: dict[str, Any]  # grade_id -> verdicts.TestPlan (not imported: this module is a leaf)
    digest: str  # of the gradebook source and the plans: a changed assignment regrades everyone

    @property
    def db_path(self) -> Path:
        return self.out / "gradebook.db"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.db_path}"

    def points(self) -> dict[str, float]:
        return {c.metadata.nbgrader["grade_id"]: float(c.metadata.nbgrader["points"])
                for c in self.source.cells if utils.is_grade(c)}


@dataclass
class Job:
    """A unit of work for a backend: one prepared notebook, nothing secret in it.

    The notebook may be deferred (``prepare``): the local backend then restores a submission
    only when a kernel is free for it, so restoring overlaps with running the others.
    """

    student_id: str
    key: str
    notebook: dict[str, Any] | None
    cell_timeout: int
    total_timeout: int
    prepare: Callable[[], dict[str, Any]] | None = field(default=None, repr=False, compare=False)

    def ready(self) -> Job:
        """Compute a deferred notebook now (may raise PrepareError); the job then holds plain data only."""
        if self.notebook is None and self.prepare is not None:
            prepare, self.prepare = self.prepare, None
            self.notebook = prepare()
        return self


@dataclass(frozen=True)
class RosterStudent:
    student_id: str
    display_name: str
    row: int  # index into Roster.rows


@dataclass
class Roster:
    """The LMS's class list as read (roster.py), its rows and columns kept so that lms_export.py writes it back."""

    path: Path
    kind: str  # "canvas", "moodle", "blackboard" or "list"
    header: list[str]
    rows: list[list[str]]
    students: list[RosterStudent] = field(default_factory=list)
    newline: str = "\n"
    bom: bool = False

    @property
    def label(self) -> str:
        return {"canvas": "Canvas gradebook export", "moodle": "Moodle grading worksheet",
                "blackboard": "Blackboard Grade Center export", "list": "list of student ids"}[self.kind]


def default_workers() -> int:
    """One kernel more than there are cores: while one starts or stops, the cores stay busy."""
    return (os.cpu_count() or 1) + 1


@dataclass
class Options:
    """How to grade: every default here, the limits from pdl.limits (pdl-grade's flags default to these)."""

    workers: int = field(default_factory=default_workers)  # kernels at a time (local backend)
    cell_timeout: int = CELL_TIMEOUT_S
    total_timeout: int = NOTEBOOK_TIMEOUT_S
    memory_mib: int = MEMORY_MIB  # per kernel (cgroup)
    sandbox: bool = True
    gpu: str = "auto"
    data_dir: Path | None = None
    roster: Roster | None = None  # absent students get MISSING, names come from it
    id_pattern: re.Pattern[str] | None = None  # from --id-pattern, for LMS downloads no layout knows
    warm: bool = True  # fork kernels from a warm, pre-imported server per slot (root hosts)
    threads: int | None = None  # BLAS/torch threads per kernel; None: the cores shared among the workers
    preload: list[str] = field(default_factory=list)  # modules the fork servers import; set by grade()
    gpu_devices: list[str] = field(default_factory=list)  # /dev/nvidia* to bind; set from ``gpu``
