"""Student-code seconds of an executed notebook, from nbclient's per-cell timing metadata.

The same measure for both graders: each cell from the start of its execute request in the kernel to
the reply. nbgrader's stock kernel announces the start with an execute_input message
(``iopub.execute_input``); pdl-grade's kernel sends none and stamps the start in its reply, which
execute.py keeps as ``shell.execute_reply.started``. ``autograder.runtime.execute.compute_seconds`` reads either.
"""
from __future__ import annotations

from typing import Any

from autograder.runtime.execute import compute_seconds as _kernel_seconds


def compute_seconds(cells: list[dict[str, Any]]) -> float:
    """Summed request-start -> execute_reply time of the code cells."""
    return _kernel_seconds(cells)  # type: ignore[arg-type]  # it reads only the cells' metadata
