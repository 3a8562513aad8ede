"""Kernel side: the autograder's IPython kernel publishes only the IOPub messages a grader reads.

For every request ipykernel broadcasts a "busy" status and, for code, an "execute_input"
copy of the source, for other frontends to show. The grader is the kernel's only client
and nbclient reads neither (it waits for the "idle" status and the execute_reply; the
cell's start time is in the reply's metadata). Each message costs ~0.7 ms of CPU between
the kernel, its IOPub thread and the grader: dropping these two is a tenth of an ex01
submission's grading time. Outputs, errors and replies are untouched.
Chosen by the autograder's kernel settings (``IPKernelApp.kernel_class``).
"""
from __future__ import annotations

from typing import Any

from ipykernel.ipkernel import IPythonKernel


class GradingKernel(IPythonKernel):
    def _publish_execute_input(self, code: str, parent: Any, execution_count: int) -> None:
        pass

    def _publish_status(self, status: str, channel: str, parent: Any = None) -> None:
        if status != "busy":
            super()._publish_status(status, channel, parent)
