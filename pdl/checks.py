"""``check``: the one assertion that exercise tests use.

Students call it in their notebook (public tests, self-checks). The autograder
calls the very same function in its trusted process: the kernel only computes
the first argument (a *probe*), and the expectation keywords are evaluated and
compared outside the sandbox, so student code never sees expected values.

    check(sigmoid(0.0), close_to=0.5)
    check(calling(decision_boundary, 1, 2, 0), raises="ValueError")
    check(calling(sigmoid, 1000.0), close_to=1.0, warns=False)
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np


class CheckFailed(AssertionError):
    """A check did not hold. ``public`` is a message safe to show for hidden tests."""

    def __init__(self, detail: str, public: str):
        super().__init__(detail)
        self.public = public


@dataclass
class Outcome:
    """What evaluating a probe gave: a value, or the error it raised, plus warnings."""

    value: Any = None
    error: str | None = None  # exception type name
    error_types: list[str] = field(default_factory=list)  # the type and its bases
    message: str = ""
    warnings: list[str] = field(default_factory=list)


def calling(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Outcome:
    """Call ``func`` and record its value or exception and any RuntimeWarnings."""
    with warnings.catch_warnings(record=True) as caught, np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
        warnings.simplefilter("always")
        try:
            out = Outcome(value=func(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 (the error is the result)
            out = Outcome(
                error=type(exc).__name__,
                error_types=[t.__name__ for t in type(exc).__mro__],
                message=str(exc)[:500],
            )
    # numerical trouble (overflow, divide by zero, invalid values) only: a library's DeprecationWarning
    # is not the student's fault
    out.warnings = [f"{w.category.__name__}: {w.message}"[:300] for w in caught if issubclass(w.category, RuntimeWarning)]
    return out


_UNSET = object()


def _as_array(value: Any) -> np.ndarray | None:
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None
    return arr


def _fail(detail: str, public: str) -> None:
    raise CheckFailed(detail, public)


def check(
    actual: Any,
    *,
    close_to: Any = _UNSET,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    equals: Any = _UNSET,
    shape: tuple[int, ...] | None = None,
    less_than: float | None = None,
    greater_than: float | None = None,
    raises: str | None = None,
    warns: bool | None = None,
    transform: Callable[[Any], Any] | None = None,
) -> None:
    """Raise CheckFailed unless ``actual`` meets every expectation given.

    ``transform`` (trusted code, e.g. a metric on held-out labels) is applied to
    the value before the comparisons.
    """
    outcome = actual if isinstance(actual, Outcome) else Outcome(value=actual)
    if raises is not None:
        if outcome.error is None:
            _fail(f"expected {raises} to be raised, but nothing was raised",
                  f"expected {raises} to be raised")
        if raises not in outcome.error_types:
            _fail(f"expected {raises}, got {outcome.error}: {outcome.message}",
                  f"expected {raises}, got {outcome.error}")
        return
    if outcome.error is not None:
        _fail(f"raised {outcome.error}: {outcome.message}", f"raised {outcome.error}: {outcome.message}")
    if warns is False and outcome.warnings:
        _fail("unexpected warning: " + "; ".join(outcome.warnings),
              "unexpected warning: " + "; ".join(outcome.warnings))
    value = outcome.value
    if transform is not None:
        value = transform(value)
    if shape is not None:
        got = np.shape(value)
        if tuple(got) != tuple(shape):
            _fail(f"shape {tuple(got)} != expected {tuple(shape)}", f"wrong shape {tuple(got)}")
    if close_to is not _UNSET:
        got, want = _as_array(value), _as_array(close_to)
        if got is None:
            _fail(f"expected a number or array, got {type(value).__name__}",
                  f"expected a number or array, got {type(value).__name__}")
        if got.shape != want.shape:
            _fail(f"shape {got.shape} != expected {want.shape}", f"wrong shape {got.shape}")
        if not np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=False):
            _fail(f"{np.array2string(got, threshold=20)} is not close to {np.array2string(want, threshold=20)}",
                  "value is not close to the expected one")
    if equals is not _UNSET:
        same = (np.array_equal(np.asarray(value), np.asarray(equals))
                if isinstance(value, np.ndarray) or isinstance(equals, np.ndarray) else value == equals)
        if not same:
            _fail(f"{value!r} != expected {equals!r}", "value is not the expected one")
    for bound, op, word in ((less_than, float.__lt__, "below"), (greater_than, float.__gt__, "above")):
        if bound is None:
            continue
        number = _as_array(value)
        if number is None or number.shape != () or not math.isfinite(float(number)):
            _fail(f"expected a finite number, got {value!r}", "expected a finite number")
        if not op(float(number), float(bound)):
            _fail(f"{float(number):.6g} is not {word} {bound}", f"{float(number):.6g} is not {word} the threshold")
