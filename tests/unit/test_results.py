"""results: one atomic JSON per submission, keyed by grading plan and submission content."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from autograder.results import TMP_PREFIX, ResultStore, result_key


def test_the_key_changes_with_the_plan_or_the_submission_only() -> None:
    key = result_key("plan-a", "sub-1")
    assert key == result_key("plan-a", "sub-1") and len(key) == 32
    assert len({key, result_key("plan-b", "sub-1"), result_key("plan-a", "sub-2")}) == 3


def test_saved_results_load_back_and_count_as_done(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "results")
    assert not store.has("alice", "k1") and store.stored() == []
    path = store.save("alice", "k1", {"student_id": "alice", "score": 3.5})
    assert path == store.path("alice", "k1") and store.has("alice", "k1")
    assert store.load("alice", "k1") == {"student_id": "alice", "score": 3.5}
    store.save("alice", "k1", {"student_id": "alice", "score": 4.0})  # a rerun replaces it whole
    assert store.load("alice", "k1")["score"] == 4.0 and store.stored() == [path]


def test_a_half_written_file_is_never_a_result_and_is_swept_at_the_next_start(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "results")
    store.save("bob", "k1", {"score": 1})
    half = store.path("bob", "k2").with_name(f"{TMP_PREFIX}k2.json")
    half.write_text('{"score": ')  # what a kill -9 in mid-write leaves
    assert [p.name for p in store.stored()] == ["k1.json"]
    ResultStore(tmp_path / "results")
    assert not half.exists() and store.has("bob", "k1")


def test_a_failed_write_leaves_neither_a_result_nor_a_temporary_file(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "results")
    with pytest.raises(TypeError):
        store.save("carol", "k1", {"value": object()})  # not JSON
    assert not store.has("carol", "k1") and os.listdir(store.folder / "carol") == []
