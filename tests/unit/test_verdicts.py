"""plans and verdicts: a test cell split into kernel probes and trusted expectations; judging the probe values."""
from __future__ import annotations

import numpy as np
import pytest

from autograder.plans import BEGIN_HIDDEN, END_HIDDEN, EMIT, AuthoringError, hidden_cell, plan_test_cell
from autograder.verdicts import judge, redact_hidden, verdict_outputs
from pdl.checks import Outcome

CELL = f"""x = np.array([0.0, 1.0])
check(sigmoid(0.0), close_to=0.5)
check(sigmoid(x), shape=(2,))
{BEGIN_HIDDEN}
big = 40.0
check(calling(sigmoid, big), close_to=1.0, warns=False)
{END_HIDDEN}
"""


def test_a_cell_is_split_into_probes_for_the_kernel_and_expectations_for_the_grader() -> None:
    plan = plan_test_cell(CELL, "test_sigmoid")
    assert [c.probe_id for c in plan.checks] == ["test_sigmoid#0", "test_sigmoid#1", "test_sigmoid#2"]
    assert [c.hidden for c in plan.checks] == [False, False, True] and plan.hidden
    assert plan.checks[0].expect == {"close_to": 0.5}
    assert plan.checks[2].expect == {"close_to": 1.0, "warns": False}
    # the kernel runs the setup and the probes, never an expectation
    for source in (plan.kernel_source, plan.hidden_source):
        assert "close_to" not in source and "0.5" not in source
    # a run of checks is one call; the hidden block is planned apart, to run after the student's last cell
    assert plan.kernel_source.count(f"{EMIT}(") == 1 and plan.hidden_source.count(f"{EMIT}(") == 1
    assert "x = np.array" in plan.kernel_source and "big = 40.0" not in plan.kernel_source
    assert "big = 40.0" in plan.hidden_source and "test_sigmoid#2" in plan.hidden_source
    assert "__pdl_snapshot__('test_sigmoid')" in plan.kernel_source  # the names there, for the hidden part
    assert "run_hidden_all([('test_sigmoid', " in hidden_cell([plan], 60)


def test_an_expectation_may_use_the_cells_own_assignments() -> None:
    plan = plan_test_cell("y = np.arange(3) * 2\ncheck(double(np.arange(3)), equals=y)\n", "test_double")
    assert np.array_equal(plan.checks[0].expect["equals"], [0, 2, 4])


@pytest.mark.parametrize("source, match", [
    ("assert sigmoid(0) == 0.5\n", "use check"),
    ("y = sigmoid(1.0)\ncheck(sigmoid(2.0), close_to=y)\n", "cannot be evaluated"),
    ("check(sigmoid(0), sigmoid(1))\n", "one probe"),
    ("check(\n", "does not parse"),
])
def test_what_cannot_be_graded_safely_is_an_authoring_error(source: str, match: str) -> None:
    with pytest.raises(AuthoringError, match=match):
        plan_test_cell(source, "test_x")


def test_judge_passes_only_when_every_probe_arrived_once_and_matched() -> None:
    plan = plan_test_cell(CELL, "test_sigmoid")
    good = {"test_sigmoid#0": [Outcome(value=0.5)], "test_sigmoid#1": [Outcome(value=[0.5, 0.73])],
            "test_sigmoid#2": [Outcome(value=1.0)]}
    assert judge(plan, good).passed
    missing = {k: v for k, v in good.items() if k != "test_sigmoid#2"}
    verdict = judge(plan, missing)
    assert not verdict.passed and verdict.public_messages == ["hidden check 3: did not run"]
    twice = {**good, "test_sigmoid#0": [Outcome(value=0.5), Outcome(value=0.5)]}
    assert "more than one value" in judge(plan, twice).messages[0]


def test_hidden_expectations_stay_out_of_the_students_messages() -> None:
    plan = plan_test_cell(f"{BEGIN_HIDDEN}\ncheck(secret(), close_to=1234.5)\n{END_HIDDEN}\n", "test_secret")
    verdict = judge(plan, {"test_secret#0": [Outcome(value=1.0)]})
    assert not verdict.passed
    assert "1234.5" in verdict.messages[0] and "1234.5" not in verdict.public_messages[0]
    assert "secret()" not in verdict.public_messages[0]


def test_a_value_the_comparison_cannot_handle_fails_without_detail() -> None:
    plan = plan_test_cell(f"{BEGIN_HIDDEN}\ncheck(f(), less_than=1.0)\n{END_HIDDEN}\n", "test_f")
    verdict = judge(plan, {"test_f#0": [Outcome(value={"a": 1})]})
    assert not verdict.passed and verdict.public_messages == ["hidden check 1: expected a finite number"]


def test_feedback_shows_neither_hidden_source_nor_expected_values() -> None:
    shown = redact_hidden(CELL)
    assert "big = 40.0" not in shown and "check(sigmoid(0.0), close_to=0.5)" in shown
    assert verdict_outputs(True, [])[0]["output_type"] == "stream"
    failed = verdict_outputs(False, ["check 1: wrong"])[0]
    assert failed["output_type"] == "error" and failed["evalue"] == "check 1: wrong"


def test_a_label_names_the_case_and_only_the_case() -> None:
    """Issue 21 item 3: `hidden check 2 (a 2-D array of z): wrong shape (13,)`; inputs and expected values never."""
    cell = (f"{BEGIN_HIDDEN}\ngrid = np.linspace(-30.0, 30.0, 13).reshape(13, 1) * np.ones((1, 3))\n"
            "check(sigmoid(0.0), close_to=0.5, case=\"zero\")\n"
            "check(sigmoid(grid), close_to=1 / (1 + np.exp(-grid)), shape=(13, 3), case=\"a 2-D array of z\")\n"
            f"{END_HIDDEN}\n")
    plan = plan_test_cell(cell, "test_sigmoid_hidden")
    assert [c.case for c in plan.checks] == ["zero", "a 2-D array of z"]
    assert "2-D array" not in plan.hidden_source and "case" not in plan.hidden_source  # never sent to the kernel
    verdict = judge(plan, {"test_sigmoid_hidden#0": [Outcome(value=0.5)],
                           "test_sigmoid_hidden#1": [Outcome(value=np.zeros(13))]})
    assert verdict.public_messages == ["hidden check 2 (a 2-D array of z): wrong shape (13,)"]
    public = plan_test_cell("check(f(1), equals=2, case=\"one\")\n", "test_f")
    verdict = judge(public, {"test_f#0": [Outcome(value=3)]})
    assert verdict.public_messages == ["check 1 (one) `f(1)`: 3 != expected 2"]  # public: the full detail


def test_a_label_is_a_string_literal() -> None:
    with pytest.raises(AuthoringError, match="string literal"):
        plan_test_cell("name = 'x'\ncheck(f(1), equals=2, case=name)\n", "test_f")


def test_an_unreadable_probe_value_fails_its_check_as_tampering() -> None:
    """Issue 22 item 7: the grader's decoder raises Unreadable, whatever it stumbles on; the check scores 0."""
    from autograder.verdicts import UNREADABLE
    from pdl.kernel.probe import Unreadable, decode_outcome

    for text in ('{"value": {"__float__": [1]}}', '{"value": {"__ndarray__": [1, 2], "shape": [3]}}',
                 '{"value": {"__dict__": [1]}}', '{"value": {"x": 1}}', '{"error_types": 5}', "[" * 100_000, "{"):
        with pytest.raises(Unreadable):
            decode_outcome(text)
    plan = plan_test_cell(CELL, "test_sigmoid")
    verdict = judge(plan, {"test_sigmoid#0": [UNREADABLE, Outcome(value=0.5)], "test_sigmoid#1": [Outcome(value=[0.5, 0.7])],
                           "test_sigmoid#2": [UNREADABLE]})
    assert not verdict.passed
    assert verdict.public_messages == [
        "check 1 `sigmoid(0.0)`: sent a value the grader cannot read (tampering?)",
        "hidden check 3: sent a value the grader cannot read (tampering?)"]
