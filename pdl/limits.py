"""The grader's limits: the one source for their defaults.

In the course package (not the autograder) so that ``pdl-check`` in the student install runs a
notebook under the same limits as ``pdl-grade grade``.
"""
from __future__ import annotations

CELL_TIMEOUT_S = 60  # seconds a cell may run
NOTEBOOK_TIMEOUT_S = 600  # seconds the whole notebook may run
MEMORY_MIB = 4096  # memory per kernel (cgroup limit)
