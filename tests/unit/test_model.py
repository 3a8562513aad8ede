"""model: the status vocabulary, the Result record and its stored JSON, the defaults; a leaf module."""
from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest

from autograder import cli, model
from autograder.model import CellResult, Options, Result, Status
from pdl import limits

# What grades.csv, the stored results and the feedback say: changing a value breaks every results folder and
# every instructor's spreadsheet, so the vocabulary is pinned here.
WRITTEN = {"graded", "wrong_name", "missing", "empty_file", "invalid_json", "invalid_notebook", "several_notebooks",
           "unreadable", "too_large", "unsafe_archive", "zip_bomb", "ambiguous_owner", "timeout", "kernel_died", "kernel_failed",
           "grader_error", "not_in_roster", "ok"}

# A result as the grader stored it before model.py (cells and notebook shortened): it must still load and
# write back byte for byte.
STORED = ('{"student_id": "cy", "assignment": "ex01_logistic_regression", "key": "0123456789abcdef0123456789abcdef", '
          '"status": "wrong_name", "message": "graded my_homework.ipynb; the expected name is '
          'ex01_logistic_regression.ipynb", "cells": [{"grade_id": "test_sigmoid", "score": 0.0, "max_score": 3.0, '
          '"passed": false, "messages": ["check 1: value is not close to the expected one"], "public_messages": '
          '["check 1: value is not close to the expected one"]}, {"grade_id": "test_logit", "score": 1.0, '
          '"max_score": 1.0, "passed": true, "messages": [], "public_messages": []}], "notebook": {"cells": [], '
          '"metadata": {}, "nbformat": 4, "nbformat_minor": 5}, "seconds": 1.234, "compute_seconds": 0.5, '
          '"display_name": "Cy \\u00c4", "late": false}')


def test_the_vocabulary_is_the_strings_already_written() -> None:
    assert {s.value for s in Status} == WRITTEN
    for status in Status:  # as the CSV writer, json and an f-string (result_key) write it
        assert str(status) == f"{status}" == status.value and json.dumps(status) == json.dumps(status.value)
        assert Status(status.value) is status


def test_which_statuses_run_and_which_score_zero() -> None:
    assert {s for s in Status if s.runs} == {Status.OK, Status.WRONG_NAME}
    assert {s for s in Status if not s.fatal} == {Status.GRADED, Status.WRONG_NAME, Status.NOT_IN_ROSTER, Status.OK}
    # the grader's environment failed, not the student: a rerun grades it again
    assert {s for s in Status if s.retried} == {Status.GRADER_ERROR, Status.KERNEL_FAILED}
    assert all(s.fatal for s in (Status.TIMEOUT, Status.KERNEL_DIED, Status.KERNEL_FAILED, Status.MISSING))
    assert Status.OK.after_run() is Status.GRADED and Status.WRONG_NAME.after_run() is Status.WRONG_NAME


def test_a_cell_scores_all_its_points_or_none() -> None:
    assert CellResult.judged("t", 3.0, True, [], []).score == 3.0
    failed = CellResult.judged("t", 3.0, False, ["wrong"], ["wrong"])
    assert (failed.score, failed.max_score, failed.passed) == (0.0, 3.0, False)


def test_a_stored_result_loads_as_a_record_and_writes_back_the_same_bytes() -> None:
    result = Result.from_dict(json.loads(STORED))
    assert result.status is Status.WRONG_NAME and result.score == 1.0 and result.late is False
    assert [c.grade_id for c in result.cells] == ["test_sigmoid", "test_logit"] and result.display_name == "Cy Ä"
    assert json.dumps(result.to_dict()) == STORED
    assert Result.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_an_older_result_without_the_later_fields_still_loads() -> None:
    """display_name, late and compute_seconds came later than the first stored results."""
    data = json.loads(STORED)
    for key in ("display_name", "late", "compute_seconds"):
        del data[key]
    result = Result.from_dict(data)
    assert (result.display_name, result.late, result.compute_seconds) == ("", None, 0.0)


def test_a_status_this_version_does_not_know_is_refused() -> None:
    with pytest.raises(ValueError):
        Result.from_dict({**json.loads(STORED), "status": "graded_twice"})


def test_to_dict_shares_the_notebook_instead_of_copying_it() -> None:
    result = Result.from_dict(json.loads(STORED))
    assert result.to_dict()["notebook"] is result.notebook  # the recorder pickles it once; no deep copy here


def test_every_default_has_one_source() -> None:
    options = Options()
    assert (options.cell_timeout, options.total_timeout, options.memory_mib) == \
        (limits.CELL_TIMEOUT_S, limits.NOTEBOOK_TIMEOUT_S, limits.MEMORY_MIB)
    assert options.workers == (os.cpu_count() or 1) + 1
    args = cli.parser().parse_args(["grade", "ex01", "subs", "--out", "out"])
    assert (args.workers, args.timeout, args.notebook_timeout, args.memory, args.gpu) == \
        (options.workers, options.cell_timeout, options.total_timeout, options.memory_mib, options.gpu)


def test_model_is_a_leaf() -> None:
    """No other autograder module (not even for types): anything may import it without a cycle."""
    tree = ast.parse(Path(model.__file__).read_text())
    imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not [m for m in imported if m.startswith("autograder") or m.startswith(".") or m == ""], imported
    assert not any(isinstance(node, ast.ImportFrom) and node.level for node in ast.walk(tree))
