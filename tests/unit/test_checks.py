"""pdl.checks.check: the one assertion of the exercises, as the student and the grader both call it."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from pdl.checks import CheckFailed, Outcome, calling, check


def test_close_to_shape_equals_and_bounds() -> None:
    check(0.5 + 1e-12, close_to=0.5)
    check(np.array([[1.0, 2.0]]), shape=(1, 2), close_to=[[1.0, 2.0]])
    check("ValueError", equals="ValueError")
    check(0.3, less_than=0.35, greater_than=0.2)
    with pytest.raises(CheckFailed, match="not close"):
        check(0.51, close_to=0.5)
    with pytest.raises(CheckFailed, match="wrong shape|!= expected"):
        check(np.zeros(3), shape=(2,))
    with pytest.raises(CheckFailed, match="not below"):
        check(0.4, less_than=0.35)
    with pytest.raises(CheckFailed, match="finite number"):
        check(float("nan"), less_than=1.0)


def test_the_public_message_hides_the_expected_value() -> None:
    with pytest.raises(CheckFailed) as failed:
        check(1.0, close_to=1234.5)
    assert "1234.5" in str(failed.value) and "1234.5" not in failed.value.public


def test_raises_and_warns_read_what_calling_recorded() -> None:
    def boom() -> None:
        raise ValueError("vertical")

    check(calling(boom), raises="ValueError")
    check(calling(boom), raises="Exception")  # a base class of the raised type
    with pytest.raises(CheckFailed, match="nothing was raised"):
        check(calling(lambda: 1), raises="ValueError")
    with pytest.raises(CheckFailed, match="raised ValueError"):
        check(calling(boom), close_to=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        overflow = calling(np.exp, np.float64(1000.0))
    assert overflow.warnings and overflow.error is None
    with pytest.raises(CheckFailed, match="unexpected warning"):
        check(overflow, warns=False)
    check(overflow, equals=np.inf)  # warnings count only where warns=False asks
    with pytest.raises(CheckFailed, match="finite number"):
        check(overflow, greater_than=0.0)


def test_transform_is_applied_before_the_comparisons() -> None:
    check(Outcome(value=[0.2, 0.8]), transform=lambda p: float(np.round(p[1])), equals=1.0)
    with pytest.raises(CheckFailed):
        check([0.2, 0.8], transform=len, equals=3)


def _public(outcome: Outcome, **expect: object) -> str:
    with pytest.raises(CheckFailed) as failed:
        check(outcome, **expect)
    return failed.value.public


def test_hidden_messages_are_fixed_text_naming_only_builtin_exceptions() -> None:
    """Issue 22 item 2: nothing a student's function chose (exception text, warning text, type names) is public."""
    def leaky(x: object) -> None:
        raise RuntimeError(f"the input was {x!r}")

    look_alike = type("ZeroDivisionError", (Exception,), {})  # a builtin's name on a class of the student's

    def pretends(x: object) -> None:
        raise look_alike(repr(x))

    assert _public(calling(leaky, 1234.5), close_to=1.0) == "raised RuntimeError"
    assert _public(calling(pretends, 1234.5), close_to=1.0) == "raised an exception"
    assert _public(calling(pretends, 1234.5), raises="ValueError") == "expected ValueError, got an exception"
    assert _public(calling(leaky, 1234.5), raises="ValueError") == "expected ValueError, got RuntimeError"
    warned = Outcome(value=1.0, warnings=["RuntimeWarning: saw 1234.5"])
    assert _public(warned, close_to=1.0, warns=False) == "gave a warning (RuntimeWarning)"
    custom = Outcome(value=1.0, warnings=["Leak1234: saw 1234.5"])
    assert _public(custom, close_to=1.0, warns=False) == "gave a warning"
    unreadable = Outcome(error="UnsupportedValue", error_types=["UnsupportedValue"],
                         message="returned a value of type T1234, which the grader cannot read")
    assert _public(unreadable, close_to=1.0) == "returned a value the grader cannot read"
    # the full detail stays for public checks (and the instructor)
    with pytest.raises(CheckFailed, match="raised RuntimeError: the input was 1234.5"):
        check(calling(leaky, 1234.5), close_to=1.0)


def test_a_shape_of_the_students_choosing_is_not_shown() -> None:
    """A zero-size array can have any shape: its dimensions could spell out hidden inputs."""
    assert _public(np.zeros((13,)), shape=(13, 3)) == "wrong shape (13,)"
    assert _public(np.zeros((3, 13)), close_to=np.zeros((13, 3))) == "wrong shape (3, 13)"
    assert _public(np.zeros((0, 1234, 5)), shape=(13, 3)) == "wrong shape (a 3-D array)"


def test_a_case_label_is_part_of_the_students_message() -> None:
    with pytest.raises(CheckFailed) as failed:
        check(np.zeros(13), shape=(13, 3), case="a 2-D array of z")
    assert str(failed.value) == "a 2-D array of z: shape (13,) != expected (13, 3)"
    assert failed.value.public == "wrong shape (13,)"  # the verdict adds the label itself (autograder.verdicts)
    check(0.5, close_to=0.5, case="the midpoint")  # a label changes nothing when the check holds
