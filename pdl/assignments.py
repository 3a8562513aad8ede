"""The six assignments: the one list of their names, and which one a notebook is.

An assignment's name is its folder and file name in ``solutions/`` and ``exercises/`` (``ex01_...``); a test
checks that this list and those folders agree. The grader files a submission under this name, so ``pdl-check``
tells a student when the file has another one.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ASSIGNMENTS = (
    "ex01_logistic_regression",
    "ex02_softmax_and_layers",
    "ex03_maximum_likelihood",
    "ex04_gradient_descent",
    "ex05_keras_banknote",
    "ex06_heteroscedastic_regression",
)

_TITLE = re.compile(r"^#\s*Exercise\s+(\d+)\b", re.M)  # every notebook opens with "# Exercise N: ..."
_NUMBER = re.compile(r"ex(\d{2})")


def by_number(number: int) -> str | None:
    """The assignment ``exNN_...`` for NN = ``number``."""
    return next((name for name in ASSIGNMENTS if name.startswith(f"ex{number:02d}_")), None)


def identify(nb: Any, path: Path) -> str | None:
    """Which assignment ``nb`` is: by its title ("# Exercise N"), else by the file name; None if neither says.

    The content comes first, since the file name is the thing a student may have changed (``Copy of ...``,
    ``... (1).ipynb``).
    """
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = _TITLE.search(cell.source)
            if match:
                return by_number(int(match.group(1)))
            break  # only the first text cell is the title
    stem = path.stem
    for name in ASSIGNMENTS:
        if name in stem:
            return name
    match = _NUMBER.search(stem)
    return by_number(int(match.group(1))) if match else None
