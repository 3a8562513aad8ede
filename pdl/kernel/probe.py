"""Probe values travel from the student's kernel to the grader as plain JSON.

Kernel side: ``emit_all`` evaluates probes and displays their outcomes under a MIME
type of its own. Grader side: ``decode_outcome`` turns that JSON back into an Outcome, and raises
``Unreadable`` for anything it cannot (the grader counts that as tampering with that check).
Only JSON crosses the sandbox boundary (never a pickle), and it is size-capped.

Hidden checks run after the student's last cell (``autograder.grade.make_job``): ``snapshot`` keeps the
student's names where the hidden test cell stands, ``run_hidden`` runs the cell's hidden part at the end
in a copy of them, so the hidden setup never lands in the student's namespace and no student cell runs
after it. Neither the source nor the inputs are left behind in IPython's history or linecache.
"""
from __future__ import annotations

import json
import math
from typing import Any, Callable

import numpy as np

from ..checks import Outcome, calling

MIME = "application/vnd.pdl.kernel.probe+json"
MAX_BYTES = 2_000_000
MAX_DEPTH = 8


class Unencodable(TypeError):
    pass


class Unreadable(ValueError):
    """A probe value the grader's decoder cannot parse: sent by something other than ``emit_all``."""


def _encode(value: Any, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise Unencodable("nested too deeply")
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # torch tensor
        value = value.detach().cpu().numpy()
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        x = float(value)
        return x if math.isfinite(x) else {"__float__": repr(x)}
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise Unencodable(f"array of dtype {value.dtype}")
        flat = [_encode(x) for x in value.ravel().tolist()]
        return {"__ndarray__": flat, "shape": list(value.shape), "kind": value.dtype.kind}
    if isinstance(value, (list, tuple)):
        items = [_encode(x, depth + 1) for x in value]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: _encode(v, depth + 1) for k, v in value.items()}}
    raise Unencodable(f"a value of type {type(value).__name__}")


def _decode(data: Any) -> Any:
    if isinstance(data, list):
        return [_decode(x) for x in data]
    if not isinstance(data, dict):
        return data
    if "__float__" in data:
        return float(data["__float__"])
    if "__ndarray__" in data:
        dtype = {"b": bool, "i": np.int64, "u": np.uint64}.get(data.get("kind"), np.float64)
        return np.array([_decode(x) for x in data["__ndarray__"]], dtype=dtype).reshape(data["shape"])
    if "__tuple__" in data:
        return tuple(_decode(x) for x in data["__tuple__"])
    if "__dict__" in data:
        return {k: _decode(v) for k, v in data["__dict__"].items()}
    raise ValueError("unknown probe encoding")


def encode_outcome(out: Outcome) -> str:
    """JSON for one outcome; a value that cannot travel becomes an error."""
    try:
        value = _encode(out.value)
    except Unencodable as exc:
        out = Outcome(error="UnsupportedValue", error_types=["UnsupportedValue"],
                      message=f"returned {exc}, which the grader cannot read", warnings=out.warnings)
        value = None
    text = json.dumps({"value": value, "error": out.error, "error_types": out.error_types,
                       "message": out.message, "warnings": out.warnings, "builtin": out.builtin})
    if len(text) > MAX_BYTES:
        text = json.dumps({"value": None, "error": "ValueTooLarge", "error_types": ["ValueTooLarge"],
                           "message": f"the value is larger than {MAX_BYTES} bytes", "warnings": []})
    return text


def decode_outcome(text: str | bytes) -> Outcome:
    """The outcome ``encode_outcome`` wrote; ``Unreadable`` for anything else, whatever the decoder stumbles on
    (a wrong type where a number belongs, a shape that does not fit, nesting too deep for ``json``)."""
    if len(text) > MAX_BYTES + 1000:
        raise Unreadable("probe output too large")
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise Unreadable("probe output is not an object")
        return Outcome(
            value=_decode(data.get("value")),
            error=data.get("error") if isinstance(data.get("error"), str) else None,
            error_types=[str(x) for x in data.get("error_types") or []],
            message=str(data.get("message", ""))[:500],
            warnings=[str(x)[:300] for x in data.get("warnings") or []][:20],
            builtin=data.get("builtin") is True,
        )
    except Unreadable:
        raise
    except Exception as exc:  # any failure to decode is the sender's doing
        raise Unreadable(f"probe output cannot be decoded ({type(exc).__name__})") from exc


def emit_all(probes: list[tuple[str, Callable[[], Any]]]) -> None:
    """Kernel side: evaluate each ``(probe id, thunk)`` in order and display their outcomes for the grader.

    One display message for a run of checks (split only past MAX_BYTES), not one per check:
    each message costs the kernel and the grader about a millisecond.
    """
    from IPython.display import display

    batch: list[list[str]] = []
    size = 0
    for probe_id, thunk in probes:
        out = calling(thunk)
        if isinstance(out.value, Outcome):  # the probe itself used calling(...)
            inner = out.value
            inner.warnings = out.warnings + inner.warnings
            out = inner
        text = encode_outcome(out)
        if batch and size + len(text) > MAX_BYTES:
            display({MIME: {"probes": batch}}, raw=True)
            batch, size = [], 0
        batch.append([probe_id, text])
        size += len(text)
    if batch:
        display({MIME: {"probes": batch}}, raw=True)


_SNAPSHOTS: dict[str, dict[str, Any]] = {}


def snapshot(grade_id: str) -> None:
    """Kernel side, where a hidden test cell stands: keep the student's names as they are now (a shallow copy)."""
    from IPython import get_ipython

    _SNAPSHOTS[grade_id] = dict(get_ipython().user_ns)


def run_hidden(grade_id: str, source: str) -> None:
    """Kernel side, after the student's last cell: run a test cell's hidden part in a namespace of its own.

    That namespace is a copy of the names ``snapshot`` kept where the cell stands (of the current ones if it
    did not run): the checks see the student's functions as the cell did, and what the setup assigns stays
    out of the student's namespace. The cell that calls this (through ``run_hidden_all``) is run without
    history (``store_history=False``, autograder.runtime.execute); its source is taken out of linecache too.
    """
    import linecache
    import sys

    from IPython import get_ipython

    linecache.cache.pop(sys._getframe(1).f_code.co_filename, None)  # the calling cell's source
    namespace = dict(_SNAPSHOTS.pop(grade_id, None) or get_ipython().user_ns)
    exec(compile(source, "<hidden test>", "exec"), namespace)  # noqa: S102 (the instructor's planned source)


class HiddenTimeout(BaseException):
    """A hidden part ran past its time: a BaseException, so that a student's ``except Exception`` lets it through."""


def run_hidden_all(parts: list[tuple[str, str]], seconds: int) -> None:
    """Kernel side: every test cell's hidden part, in order, in one cell (one cell costs the kernel and the grader
    a few milliseconds: one per test cell would be a tenth of a submission's grading time).

    Each part has ``seconds`` of its own, as it had as a cell: past them it stops (its remaining checks did not
    run), the next part runs, and the grader is told which part ran out (``{"timed_out": [grade id]}``). An error
    in one part does not stop the others. The grader gives the whole cell ``seconds`` per part.
    """
    import linecache
    import signal
    import sys

    from IPython.display import display

    linecache.cache.pop(sys._getframe(1).f_code.co_filename, None)  # the calling cell's source

    def out_of_time(*_: object) -> None:
        raise HiddenTimeout()

    previous = signal.signal(signal.SIGALRM, out_of_time)
    timed_out = []
    try:
        for grade_id, source in parts:
            signal.setitimer(signal.ITIMER_REAL, seconds)
            try:
                run_hidden(grade_id, source)
            except HiddenTimeout:
                timed_out.append(grade_id)
            except Exception:  # noqa: BLE001 (the part's own error: its remaining checks did not run)
                pass
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, previous)
    if timed_out:
        display({MIME: {"timed_out": timed_out}}, raw=True)
