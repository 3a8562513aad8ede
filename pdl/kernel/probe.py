"""Probe values travel from the student's kernel to the grader as plain JSON.

Kernel side: ``emit_all`` evaluates probes and displays their outcomes under a MIME
type of its own. Grader side: ``decode`` turns that JSON back into an Outcome.
Only JSON crosses the sandbox boundary (never a pickle), and it is size-capped.
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
                       "message": out.message, "warnings": out.warnings})
    if len(text) > MAX_BYTES:
        text = json.dumps({"value": None, "error": "ValueTooLarge", "error_types": ["ValueTooLarge"],
                           "message": f"the value is larger than {MAX_BYTES} bytes", "warnings": []})
    return text


def decode_outcome(text: str | bytes) -> Outcome:
    if len(text) > MAX_BYTES + 1000:
        raise ValueError("probe output too large")
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("probe output is not an object")
    return Outcome(
        value=_decode(data.get("value")),
        error=data.get("error") if isinstance(data.get("error"), str) else None,
        error_types=[str(x) for x in data.get("error_types") or []],
        message=str(data.get("message", ""))[:500],
        warnings=[str(x)[:300] for x in data.get("warnings") or []][:20],
    )


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
