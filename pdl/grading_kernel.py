"""Kernel side: the autograder's IPython kernel does only the I/O work whose result a grader reads.

- For every request ipykernel broadcasts a "busy" status and, for code, an "execute_input"
  copy of the source, for other frontends to show. The grader is the kernel's only client
  and nbclient reads neither (it waits for the "idle" status and the execute_reply; the
  cell's start time is in the reply's metadata). Each message costs ~0.7 ms of CPU between
  the kernel, its IOPub thread and the grader: dropping these two is a tenth of an ex01
  submission's grading time.
- Every ``sys.stdout.flush()`` (ipykernel makes four or more per cell, most with nothing
  written) is a round trip to the IOPub thread and back. ``GradingOutStream`` makes it only
  when there is something to send: text in its buffers, or bytes that C code wrote to the
  file descriptor and the watching thread has not read yet (there the round trip is kept,
  as in ipykernel).

Outputs, errors, their order and the replies are untouched. Chosen by the autograder's
kernel settings (``IPKernelApp.kernel_class`` and ``outstream_class``).
"""
from __future__ import annotations

import select
from typing import Any

from ipykernel.iostream import OutStream
from ipykernel.ipkernel import IPythonKernel


class GradingKernel(IPythonKernel):
    def _publish_execute_input(self, code: str, parent: Any, execution_count: int) -> None:
        pass

    def _publish_status(self, status: str, channel: str, parent: Any = None) -> None:
        if status != "busy":
            super()._publish_status(status, channel, parent)


class GradingOutStream(OutStream):
    def flush(self) -> None:
        if self._buffers or self._fd_unread():
            super().flush()

    def _fd_unread(self) -> bool:
        """Whether C code's output waits in the pipe that ipykernel's watcher thread reads."""
        fid = getattr(self, "_fid", None)
        if fid is None or not getattr(self, "_should_watch", False):
            return False
        try:
            return bool(select.select([fid], [], [], 0)[0])
        except (OSError, ValueError):
            return True  # cannot tell: flush as ipykernel does
