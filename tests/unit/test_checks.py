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
