"""``check``: the one assertion that exercise tests use.

Students call it in their notebook (public tests, self-checks). The autograder
calls the very same function in its trusted process: the kernel only computes
the first argument (a *probe*), and the expectation keywords are evaluated and
compared outside the sandbox, so student code never sees expected values.

    check(sigmoid(0.0), close_to=0.5)
    check(calling(decision_boundary, 1, 2, 0), raises="ValueError")
    check(calling(sigmoid, 1000.0), close_to=1.0, warns=False)

Case labels. Any check may name the case it tries, in words, with ``case=``:

    check(sigmoid(grid), close_to=expit(grid), shape=(13, 3), case="a 2-D array of z")

When it fails, the label is part of the message: a student running the cell reads
``CheckFailed: a 2-D array of z: shape (13,) != expected (13, 3)``, ``pdl-check`` prints that line, and the
grader's verdict (feedback, formgrader, the stored result) reads
``hidden check 2 (a 2-D array of z): wrong shape (13,)``. The label is written by the instructor and shown
as it is, so it must describe the case without its numbers: never an input's value or an expected value.
The grader takes it from the test cell's source (a string literal) and never sends it to the kernel.

Messages. ``CheckFailed.detail`` (its ``str``) says everything: the student's own value and the expected one;
public checks show it. ``CheckFailed.public`` is for hidden checks: fixed text that carries nothing a
student's function could have put there (no exception message, no warning text, no type name of the
student's), naming an exception or warning category only when it is one of Python's builtins.
"""
from __future__ import annotations

import builtins
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np


BUILTIN_EXCEPTIONS = frozenset(name for name, obj in vars(builtins).items()
                                if isinstance(obj, type) and issubclass(obj, BaseException)
                                and not issubclass(obj, Warning))
BUILTIN_WARNINGS = frozenset(name for name, obj in vars(builtins).items()
                              if isinstance(obj, type) and issubclass(obj, Warning))


class CheckFailed(AssertionError):
    """A check did not hold. ``str()`` is the full detail; ``public`` is fixed text, safe to show for hidden tests."""

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
    builtin: bool = False  # the error is Python's own exception type of that name (not a look-alike)


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
                builtin=getattr(builtins, type(exc).__name__, None) is type(exc),
            )
    # numerical trouble (overflow, divide by zero, invalid values) only: a library's DeprecationWarning
    # is not the student's fault
    out.warnings = [f"{w.category.__name__}: {w.message}"[:300] for w in caught if issubclass(w.category, RuntimeWarning)]
    return out


_UNSET = object()
# errors that encode_outcome (pdl.kernel.probe) makes of a value that cannot travel to the grader
_UNREADABLE = {"UnsupportedValue": "returned a value the grader cannot read",
               "ValueTooLarge": "returned a value too large for the grader to read"}


def _as_array(value: Any) -> np.ndarray | None:
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None
    return arr


def _raised(outcome: Outcome) -> str:
    """Fixed text for an exception: its name only when it is one of Python's builtins."""
    if outcome.error in _UNREADABLE and not outcome.builtin:
        return _UNREADABLE[outcome.error]
    if outcome.builtin and outcome.error in BUILTIN_EXCEPTIONS:
        return f"raised {outcome.error}"
    return "raised an exception"


def _warned(outcome: Outcome) -> str:
    categories = {w.split(":", 1)[0] for w in outcome.warnings}
    named = sorted(categories & BUILTIN_WARNINGS) if len(categories) == 1 else []
    return f"gave a warning ({named[0]})" if named else "gave a warning"


def _wrong_shape(got: tuple[int, ...], want: tuple[int, ...]) -> str:
    """The student's shape, when it is made of the expected dimensions (a transposed or missing axis, ...);
    otherwise only its number of dimensions: a shape of the student's choosing could spell out hidden inputs."""
    if len(got) <= len(want) + 1 and all(d == 1 or d in want for d in got):
        return f"wrong shape {got}"
    return f"wrong shape (a {len(got)}-D array)"


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
    case: str | None = None,
) -> None:
    """Raise CheckFailed unless ``actual`` meets every expectation given.

    ``transform`` (trusted code, e.g. a metric on held-out labels) is applied to
    the value before the comparisons. ``case`` labels the check in its message (see the module's docstring).
    """

    def fail(detail: str, public: str) -> None:
        raise CheckFailed(f"{case}: {detail}" if case else detail, public)

    outcome = actual if isinstance(actual, Outcome) else Outcome(value=actual)
    if raises is not None:
        if outcome.error is None:
            fail(f"expected {raises} to be raised, but nothing was raised", f"expected {raises} to be raised")
        if raises not in outcome.error_types:
            other = _raised(outcome)
            fail(f"expected {raises}, got {outcome.error}: {outcome.message}",
                 f"expected {raises}, got {other[len('raised '):] if other.startswith('raised ') else other}")
        return
    if outcome.error is not None:
        fail(f"raised {outcome.error}: {outcome.message}", _raised(outcome))
    if warns is False and outcome.warnings:
        fail("unexpected warning: " + "; ".join(outcome.warnings), _warned(outcome))
    value = outcome.value
    if transform is not None:
        value = transform(value)
    if shape is not None:
        got = tuple(np.shape(value))
        if got != tuple(shape):
            fail(f"shape {got} != expected {tuple(shape)}", _wrong_shape(got, tuple(shape)))
    if close_to is not _UNSET:
        got, want = _as_array(value), _as_array(close_to)
        if got is None:
            fail(f"expected a number or array, got {type(value).__name__}",
                 f"expected a number or array, got {type(value).__name__}")
        if got.shape != want.shape:
            fail(f"shape {got.shape} != expected {want.shape}", _wrong_shape(got.shape, want.shape))
        if not np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=False):
            fail(f"{np.array2string(got, threshold=20)} is not close to {np.array2string(want, threshold=20)}",
                 "value is not close to the expected one")
    if equals is not _UNSET:
        same = (np.array_equal(np.asarray(value), np.asarray(equals))
                if isinstance(value, np.ndarray) or isinstance(equals, np.ndarray) else value == equals)
        if not same:
            fail(f"{value!r} != expected {equals!r}", "value is not the expected one")
    for bound, op, word in ((less_than, float.__lt__, "below"), (greater_than, float.__gt__, "above")):
        if bound is None:
            continue
        number = _as_array(value)
        if number is None or number.shape != () or not math.isfinite(float(number)):
            fail(f"expected a finite number, got {value!r}", "expected a finite number")
        if not op(float(number), float(bound)):
            fail(f"{float(number):.6g} is not {word} {bound}", f"{float(number):.6g} is not {word} the threshold")
