"""Student-code seconds of an executed notebook: nbclient's per-cell timing metadata."""
from __future__ import annotations

from datetime import datetime
from typing import Any


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def compute_seconds(cells: list[dict[str, Any]]) -> float:
    """Summed execute_input -> execute_reply time of the code cells (both graders record it)."""
    total = 0.0
    for cell in cells:
        timing = cell.get("metadata", {}).get("execution", {})
        start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
        if start and end:
            total += max(0.0, (_when(end) - _when(start)).total_seconds())
    return total
