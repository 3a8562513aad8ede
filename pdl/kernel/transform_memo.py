"""Kernel side: transform each cell's source once, not twice.

ipykernel's execute_request runs IPython's input transformers (tokenizing the whole
cell) to ask whether the cell needs the async runner, and then, for an ordinary cell,
run_cell runs them again on the same source: ~7 ms per ex01 notebook. The result
depends only on the source, so the second call reuses the first.
Installed at kernel start by the autograder (``install()``).
"""
from __future__ import annotations


def install() -> None:
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return
    transform = shell.transform_cell
    last: list = [None, None]  # source, transformed

    def transform_cell(raw_cell: str) -> str:
        if raw_cell != last[0]:
            last[1] = transform(raw_cell)  # may raise: then nothing is remembered
            last[0] = raw_cell
        return last[1]

    shell.transform_cell = transform_cell
