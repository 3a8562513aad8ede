"""The similarity check on a class of ex01 notebooks (tests/similarity_class.py), and its calibration.

No grading here: the answers are read from the notebooks as submitted (test_report.py grades the same class and
checks similarity.csv end to end).
"""
from __future__ import annotations

import pytest
from conftest import exercise_path, read_nb
from similarity_class import BLANK, NAME, OWN, PLANTED, code_cells, disguise, independent_pairs, notebooks

from autograder import similarity
from autograder.similarity_calibration import CALIBRATION
from bench import similarity_calibration


@pytest.fixture(scope="module")
def starter() -> dict[str, str]:
    return code_cells(read_nb(exercise_path(NAME)))


@pytest.fixture(scope="module")
def pairs(starter) -> dict[frozenset[str], similarity.PairScore]:
    answers = {student: similarity.answer_cells(nb, starter) for student, nb in notebooks().items()}
    scored = similarity.compare(answers, starter)
    assert [p.score for p in scored] == sorted((p.score for p in scored), reverse=True)
    return {frozenset({p.student_a, p.student_b}): p for p in scored}


def test_planted_copies_rank_first_and_are_flagged(pairs):
    ranked = sorted(pairs.values(), key=lambda p: -p.score)
    assert {frozenset({p.student_a, p.student_b}) for p in ranked[:2]} == PLANTED
    for pair in PLANTED:
        assert pairs[pair].flagged and pairs[pair].score >= CALIBRATION["threshold"], pairs[pair]


def test_every_independent_pair_scores_below_the_threshold(pairs):
    independent = independent_pairs()
    assert len(independent) >= 40
    for pair in independent:
        assert not pairs[pair].flagged and pairs[pair].score < CALIBRATION["threshold"], pairs[pair]
    highest = max(pairs[p].score for p in independent)
    assert highest < min(pairs[p].score for p in PLANTED)


def test_untouched_notebooks_are_not_similar_to_anyone(pairs):
    assert pairs[BLANK].score == 0 and pairs[BLANK].total == 0  # the starter code is all they have
    assert all(p.score == 0 for key, p in pairs.items() if key & BLANK)


def test_a_short_function_alike_does_not_flag_a_pair_alone(starter):
    """Two students who wrote only the same one-line sigmoid: the cell matches entirely, the pair stays low."""
    one_line = "def sigmoid(z):\n    return np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=float)))\n"
    [pair] = similarity.compare({"a": {"sigmoid": one_line}, "b": {"sigmoid": disguise(one_line)}}, starter)
    [cell] = pair.cells
    assert cell.score == 1.0
    assert pair.score < CALIBRATION["threshold"] and not pair.flagged
    # the same cell among a whole notebook's matching code flags the pair
    full = dict(OWN["ind_masks"], sigmoid=one_line)
    [both] = similarity.compare({"a": full, "b": {g: disguise(s) for g, s in full.items()}}, starter)
    assert both.flagged


def test_what_is_ignored(starter):
    """Starter code, comments, docstrings and names never count: only the student's own code does."""
    given = starter["sigmoid"]
    commented = given.replace("# YOUR CODE HERE", "# YOUR CODE HERE\n    # a long comment that both students wrote " * 3)
    [pair] = similarity.compare({"a": {"sigmoid": commented}, "b": {"sigmoid": commented}}, starter)
    assert pair.score == 0 and pair.total == 0
    own = OWN["ind_masks"]["sigmoid"]
    renamed = own.replace("big", "positive").replace("small", "e").replace("out", "result")
    [pair] = similarity.compare({"a": {"sigmoid": own}, "b": {"sigmoid": '"""My docstring."""\n' + renamed}},
                                starter)
    assert pair.cells[0].score == 1.0 and pair.matched == pair.total


def test_marked_regions_are_the_students_own_matching_code(starter):
    source = OWN["ind_masks"]["decision_boundary"]
    copy = disguise(source)
    regions_a, regions_b = similarity.marked_regions(source, copy, starter["decision_boundary"])
    assert regions_a and regions_b
    marked = "".join(source[s:e] for s, e in regions_a)
    assert "raise ValueError" in marked and "intercept" in marked
    assert "# my own solution" not in "".join(copy[s:e] for s, e in regions_b)  # a comment is not code


def test_mask_keeps_the_length_and_hides_starter_docstrings_and_comments(starter):
    source = starter["sigmoid"].replace("raise NotImplementedError()", "return 1 / (1 + np.exp(-z))")
    masked = similarity.mask_starter(source, starter["sigmoid"])
    assert len(masked) == len(source)
    assert "return 1 / (1 + np.exp(-z))" in masked
    assert "def sigmoid" not in masked and "logistic sigmoid" not in masked


def test_the_stored_calibration_is_reproducible():
    """autograder/similarity_calibration.py is what the measurement gives now (like a lock file)."""
    measured = similarity_calibration.measure(CALIBRATION["kgram"], CALIBRATION["min_chars"])
    assert measured == CALIBRATION, ("the independent answers (tests/cases) or the scoring changed: rerun "
                                     "python -m bench.similarity_calibration --write and review the threshold")
    assert CALIBRATION["false_positive_rate"] == 0 and CALIBRATION["highest_independent"]["score"] < \
        CALIBRATION["threshold"]
