"""Kernel side: the autograder's IPython kernel does only the I/O work whose result a grader reads.

- For every request ipykernel broadcasts a "busy" status and, for code, an "execute_input"
  copy of the source, for other frontends to show. The grader is the kernel's only client
  and nbclient reads neither (it waits for the "idle" status and the execute_reply; the
  cell's start time is in the reply's metadata). Each message costs ~0.7 ms of CPU between
  the kernel, its IOPub thread and the grader: dropping these two is a tenth of an ex01
  submission's grading time.
- ipykernel 7 reads the shell socket on a thread of its own, for subshells (concurrent
  execution in one kernel), which nbclient never asks for: every request and its reply hop
  between that thread and the main one (~0.6 ms of CPU a cell). ``GradingKernelApp`` does not
  start it, so the main thread reads the socket, as in ipykernel 6, and kernel_info says so
  (no "kernel subshells").
- No 0.5 ms nap before each execute_reply (ipykernel's way to let IOPub output leave first:
  nbclient waits for the "idle" status on IOPub after the reply anyway).

A fork server also makes the kernel's IPython shell before it forks (``GradingKernelApp.prefork``):
building one (magics, completer, formatters, prefilters) is a fifth of a forked kernel's start-up,
and it is the same for every student, whose code has not run yet. Each forked kernel then takes
over its own copy of that fresh shell. The kernel reads the grader's settings only, never an
IPython config file (the grade must not depend on what a host has in its profile).

Output streams are ipykernel's own: their flush waits for the IOPub thread, which is also
what gives the thread that reads C-level output (fd 1 and 2) time to pass on what a cell
wrote last. Outputs, errors and their order are as in ipykernel. The autograder forks this
app from a slot's fork server or launches it with ``python -m pdl.kernel.grading_kernel -f FILE``.

ipykernel has no settings for any of this: the overrides are of its private methods and traits, each
named (and the replaced ones hashed) in tests/test_upstream_contract.py, which fails on an ipykernel
that changes them.
"""
from __future__ import annotations

import threading
from typing import Any

from ipykernel.ipkernel import IPythonKernel
from ipykernel.kernelapp import IPKernelApp
from ipykernel.kernelbase import Kernel
from traitlets import Float, Type
from traitlets.config import Config


class GradingKernel(IPythonKernel):
    _execute_sleep = Float(0.0).tag(config=True)
    shell_preforked = False  # True where the shell was made by GradingKernelApp.prefork

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.shell.kernel is None:  # the shell came from prefork(): attach it as __init__ would have made it
            self.shell.kernel = self
            self.shell.parent = self
            self.shell.profile_dir = self.profile_dir
            self.shell.log = self.log
            self.shell_preforked = True

    @property
    def _supports_kernel_subshells(self) -> bool:
        return False

    def _publish_execute_input(self, code: str, parent: Any, execution_count: int) -> None:
        pass

    def _publish_status(self, status: str, channel: str, parent: Any = None) -> None:
        if status != "busy":
            super()._publish_status(status, channel, parent)


class NoShellChannelThread:
    """Stands in for the shell channel thread that ``GradingKernelApp`` does not start.

    False wherever ipykernel 7.4 asks ``if ...shell_channel_thread:``, and naming the main thread
    as the shell's, which its runner for cells with a top-level ``await`` reads without asking.
    """

    def __init__(self) -> None:
        self.parent_thread = threading.current_thread()

    def __bool__(self) -> bool:
        return False


class GradingKernelApp(IPKernelApp):
    """IPKernelApp with ``GradingKernel`` and without ipykernel 7's shell channel thread."""

    kernel_class = Type(GradingKernel, klass=Kernel).tag(config=True)

    @classmethod
    def prefork(cls, config: Config) -> None:
        """Make the shell that every kernel forked from this process takes over (a fork server calls
        this once, before any fork, with the settings its kernels get). Nothing of a student's has run.
        The classes are the defaults and ``config`` names no parents (kernel_config() is flat); with
        history on, the shell would open its database and start a thread, which the server refuses."""
        kernel = cls.class_traits()["kernel_class"].default_value
        shell_class = kernel.class_traits()["shell_class"].default_value
        shell_class.instance(config=config, compiler_class=kernel.class_traits()["compiler_class"].default_value)

    def load_config_file(self, *args: Any, **kwargs: Any) -> None:
        pass  # the grader's settings only: no ipython_config.py or ipython_kernel_config.py of the host's

    def init_sockets(self) -> None:
        super().init_sockets()
        unused = self.shell_channel_thread  # made here, started by init_kernel only if it is true
        unused.io_loop.close(all_fds=True)
        self.shell_channel_thread = NoShellChannelThread()


if __name__ == "__main__":  # a launched (not forked) grading kernel: python -m pdl.kernel.grading_kernel -f FILE
    import sys
    from pathlib import Path

    # as ipykernel_launcher: drop the work dir that -m put first on the path (the kernel adds it
    # back for the student's code; at launch it is the sandbox's fresh, empty home anyway)
    if sys.path and (sys.path[0] == "" or Path(sys.path[0]) == Path.cwd()):
        del sys.path[0]
    from pdl.kernel.grading_kernel import GradingKernelApp as App  # the module's classes, not __main__'s copies

    App.launch_instance()
