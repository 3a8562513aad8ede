"""item_stats: the rows of grades.csv and grades_long.csv -> one row per graded cell (no kernels, no gradebook)."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from autograder import item_stats

A = "ex01_logistic_regression"
# student -> (status, {grade_id: points}); max points: t_pub 1, t_hid 2, written 2
CLASS = {
    "s1": ("graded", {"t_pub": 1, "t_hid": 2, "written": 2}),
    "s2": ("graded", {"t_pub": 1, "t_hid": 0, "written": 1}),
    "s3": ("wrong_name", {"t_pub": 0, "t_hid": 0, "written": 0}),
    "s4": ("graded", {"t_pub": 1, "t_hid": 2, "written": 0}),  # written answer not graded yet
    "s5": ("invalid_json", {"t_pub": 0, "t_hid": 0, "written": 0}),  # never ran: counts nowhere
    "s6": ("not_in_roster", {"t_pub": 1, "t_hid": 2, "written": 1}),
}
MAX = {"t_pub": 1, "t_hid": 2, "written": 2}
KINDS = {(A, "t_pub"): ("public", "sigmoid", 5), (A, "t_hid"): ("hidden", "sigmoid", 6), (A, "written"): ("written", "", 9)}
PENDING = {(A, "s4", "written")}


def rows() -> tuple[list[dict], list[dict]]:
    summary = [{"assignment": A, "student_id": s, "status": status} for s, (status, _) in CLASS.items()]
    long = [{"assignment": A, "student_id": s, "grade_id": g, "score": str(p), "max_score": str(MAX[g])}
            for s, (_, cells) in CLASS.items() for g, p in cells.items()]
    return summary, long


@pytest.fixture()
def found() -> dict[str, item_stats.Item]:
    summary, long = rows()
    return {i.grade_id: i for i in item_stats.items(summary, long, KINDS, PENDING)}


def test_only_submissions_that_ran_count(found):
    assert found["t_pub"].n == found["t_hid"].n == 5  # s5 (invalid_json) left out
    assert found["t_pub"].mean_points == pytest.approx(4 / 5)
    assert found["t_pub"].pass_rate == pytest.approx(4 / 5)
    assert found["t_hid"].mean_points == pytest.approx(6 / 5)
    assert found["t_hid"].pass_rate == pytest.approx(3 / 5)


def test_a_written_answer_counts_once_graded(found):
    written = found["written"]
    assert (written.n, written.waiting, written.cell_type) == (4, 1, "written")
    assert written.mean_points == pytest.approx(1.0) and written.pass_rate == pytest.approx(1 / 4)


def test_discrimination_is_the_item_rest_correlation(found):
    counted = ["s1", "s2", "s3", "s4", "s6"]
    item = [CLASS[s][1]["t_hid"] for s in counted]
    rest = [sum(CLASS[s][1].values()) - CLASS[s][1]["t_hid"] for s in counted]
    assert found["t_hid"].discrimination == pytest.approx(np.corrcoef(item, rest)[0, 1])
    graded = ["s1", "s2", "s3", "s6"]  # s4's written answer waits
    item = [CLASS[s][1]["written"] for s in graded]
    rest = [sum(CLASS[s][1].values()) - CLASS[s][1]["written"] for s in graded]
    assert found["written"].discrimination == pytest.approx(np.corrcoef(item, rest)[0, 1])


def test_no_variance_no_discrimination(tmp_path):
    summary, long = rows()
    for r in long:
        if r["grade_id"] == "t_pub":
            r["score"] = "1"
    [pub] = [i for i in item_stats.items(summary, long, KINDS, PENDING) if i.grade_id == "t_pub"]
    assert pub.pass_rate == 1 and pub.discrimination is None
    path = item_stats.write_csv(tmp_path / "item_stats.csv", [pub])
    [row] = list(csv.DictReader(open(path, newline="")))
    assert row["discrimination"] == "" and row["pass_rate"] == "1" and row["cell_type"] == "public"
    assert list(row) == item_stats.COLUMNS


def test_order_is_the_notebooks():
    summary, long = rows()
    assert [i.grade_id for i in item_stats.items(summary, long, KINDS, PENDING)] == ["t_pub", "t_hid", "written"]


def test_pearson_undefined_cases():
    assert item_stats.pearson([1, 1, 1], [0, 1, 2]) is None
    assert item_stats.pearson([0, 1], [0, 1]) is None  # fewer than 3
    assert item_stats.pearson([0, 1, 0, 1], [1, 3, 2, 4]) == pytest.approx(np.corrcoef([0, 1, 0, 1], [1, 3, 2, 4])[0, 1])
