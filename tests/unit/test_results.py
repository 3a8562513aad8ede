"""results: one atomic JSON per submission, keyed by grading plan and submission content."""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from autograder.model import CellResult, Result, Status
from autograder.results import REDACTED_STAMP, TMP_PREFIX, ResultStore, latest, result_key
from autograder.verdicts import verdict_outputs


def result(student: str, key: str, score: float = 1.0, assignment: str = "ex01", **fields) -> Result:
    cells = [CellResult.judged("test_a", 1.0, score > 0, [], []), CellResult.judged("test_b", 2.0, score > 1, [], [])]
    return Result(student, assignment, key, fields.pop("status", Status.GRADED), "", cells, None, **fields)


def test_the_key_changes_with_the_plan_or_the_submission_only() -> None:
    key = result_key("plan-a", "sub-1")
    assert key == result_key("plan-a", "sub-1") and len(key) == 32
    assert len({key, result_key("plan-b", "sub-1"), result_key("plan-a", "sub-2")}) == 3


def test_a_status_keys_a_result_by_its_value() -> None:
    """A submission without bytes is keyed by its status: the key must be the one the string gave."""
    assert result_key("plan", Status.MISSING) == result_key("plan", "missing")


def test_saved_results_load_back_and_count_as_done(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "results")
    assert not store.has("alice", "k1") and store.stored() == []
    first = result("alice", "k1", 1.0, seconds=2.5, late=True, display_name="Alice Ä")
    path = store.save(first)
    assert path == store.path("alice", "k1") and store.has("alice", "k1")
    assert store.load("alice", "k1") == first
    store.save(dataclasses.replace(first, cells=result("alice", "k1", 3.0).cells))  # a rerun replaces it whole
    assert store.load("alice", "k1").score == 3.0 and store.stored() == [path]


def test_a_half_written_file_is_never_a_result_and_is_swept_at_the_next_start(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "results")
    store.save(result("bob", "k1"))
    half = store.path("bob", "k2").with_name(f"{TMP_PREFIX}k2.json")
    half.write_text('{"score": ')  # what a kill -9 in mid-write leaves
    assert [p.name for p in store.stored()] == ["k1.json"]
    ResultStore(tmp_path / "results")
    assert not half.exists() and store.has("bob", "k1")


def test_a_failed_write_leaves_neither_a_result_nor_a_temporary_file(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "results")
    with pytest.raises(TypeError):
        store.save(dataclasses.replace(result("carol", "k1"), notebook={"value": object()}))  # not JSON
    assert not store.has("carol", "k1") and os.listdir(store.folder / "carol") == []


def test_latest_is_the_newest_result_of_each_student_and_assignment(tmp_path: Path) -> None:
    ex01, ex02 = ResultStore(tmp_path / "results" / "ex01"), ResultStore(tmp_path / "results" / "ex02")
    old = ex01.save(result("alice", "old", 0.0))
    os.utime(old, (1, 1))  # an earlier submission of hers
    ex01.save(result("alice", "new", 3.0))
    ex01.save(result("bob", "k", 0.0, status=Status.TIMEOUT))
    ex02.save(result("alice", "k", 2.0, assignment="ex02"))
    found = {(r.assignment, r.student_id): (r.key, r.status) for r in latest(tmp_path / "results")}
    assert found == {("ex01", "alice"): ("new", Status.GRADED), ("ex01", "bob"): ("k", Status.TIMEOUT),
                     ("ex02", "alice"): ("k", Status.GRADED)}


HIDDEN = "assert_close(sigmoid(np.array([-40.0, 40.0])), [4.2e-18, 1.0])"


def _earlier_versions_result(student: str, key: str) -> dict:
    """A result as stored before results/ was redacted: the test cell's hidden block and the instructor's detail."""
    detail = f"hidden check 1 `{HIDDEN}`: expected 4.2e-18, got 0.5"
    public = "hidden check 1: the value is wrong"
    test = {"cell_type": "code", "execution_count": 3, "id": "t1", "source": "assert True\n### BEGIN HIDDEN TESTS\n"
            f"{HIDDEN}\n### END HIDDEN TESTS\n", "outputs": verdict_outputs(False, [detail]),
            "metadata": {"nbgrader": {"grade": True, "grade_id": "test_a", "locked": True, "points": 1.0,
                                      "solution": False, "schema_version": 3},
                         "pdl": {"public_messages": [public], "passed": False}}}
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [test]}
    cell = {"grade_id": "test_a", "score": 0.0, "max_score": 1.0, "passed": False, "messages": [detail],
            "public_messages": [public]}
    return {"student_id": student, "assignment": "ex01", "key": key, "status": "graded", "message": "",
            "cells": [cell], "notebook": notebook, "seconds": 1.0, "compute_seconds": 0.5, "display_name": "",
            "late": None}


def test_results_an_earlier_version_stored_are_redacted_once_their_times_kept(tmp_path: Path) -> None:
    folder = tmp_path / "results" / "ex01"
    old, other = folder / "ann" / "old.json", folder / "ann" / "new.json"
    for path, key in ((old, "old"), (other, "new")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(_earlier_versions_result("ann", key)))
    os.utime(old, (1, 1))  # her earlier submission: latest() must still pick the other
    fresh = folder / "bob" / "k.json"
    fresh.parent.mkdir()
    fresh.write_text(json.dumps(result("bob", "k").to_dict()))
    before = fresh.stat().st_mtime_ns, fresh.read_bytes()
    store = ResultStore(folder)
    for path in (old, other):
        text = path.read_text()
        assert "BEGIN HIDDEN" not in text and "np.array([-40.0" not in text and "4.2e-18" not in text, text
        stored = store.read(path)
        assert stored.cells[0].messages == stored.cells[0].public_messages == ["hidden check 1: the value is wrong"]
        assert stored.notebook["cells"][0]["outputs"][0]["traceback"] == stored.cells[0].public_messages
        assert "hidden tests: their source is not shown" in stored.notebook["cells"][0]["source"]
        assert (stored.score, stored.status) == (0.0, Status.GRADED)
    assert os.stat(old).st_mtime == 1 and (fresh.stat().st_mtime_ns, fresh.read_bytes()) == before
    assert (folder / REDACTED_STAMP).is_file()
    assert [r.key for r in latest(tmp_path / "results") if r.student_id == "ann"] == ["new"]
