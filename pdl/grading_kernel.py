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

Outputs, errors, their order and the replies are untouched. ``GradingKernelApp`` puts them
together (and leaves out ipykernel 7's shell channel thread); the autograder forks it from a
slot's fork server or launches it with ``python -m pdl.grading_kernel -f CONNECTION_FILE``.
"""
from __future__ import annotations

import select
from typing import Any

from ipykernel.iostream import OutStream
from ipykernel.ipkernel import IPythonKernel
from ipykernel.kernelapp import IPKernelApp
from ipykernel.kernelbase import Kernel
from traitlets import DottedObjectName, Float, Type


class GradingKernel(IPythonKernel):
    # ipykernel sleeps 0.5 ms before each execute_reply so that IOPub output leaves first;
    # nbclient waits for the "idle" status on IOPub after the reply anyway
    _execute_sleep = Float(0.0).tag(config=True)

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


class GradingKernelApp(IPKernelApp):
    """IPKernelApp with the classes above and without ipykernel 7's shell channel thread.

    That thread exists for subshells (concurrent execution in one kernel), which nbclient
    never asks for: every shell request and its reply would hop between it and the main
    thread (~0.6 ms of CPU a cell). Without it, ipykernel reads the shell socket on the main
    thread, as ipykernel 6 did, and says so in kernel_info (no "kernel subshells").
    """

    kernel_class = Type(GradingKernel, klass=Kernel).tag(config=True)
    outstream_class = DottedObjectName(f"{__name__}.GradingOutStream").tag(config=True)

    def init_sockets(self) -> None:
        super().init_sockets()
        self.shell_channel_thread = None  # made but not started yet: init_kernel starts it only if set


if __name__ == "__main__":  # a launched (not forked) grading kernel: python -m pdl.grading_kernel -f FILE
    import sys
    from pathlib import Path

    if sys.path and (sys.path[0] == "" or Path(sys.path[0]) == Path.cwd()):
        del sys.path[0]  # as ipykernel_launcher: the kernel's own imports never come from the work dir
    from pdl.grading_kernel import GradingKernelApp as App  # the module's classes, not __main__'s copies

    App.launch_instance()
