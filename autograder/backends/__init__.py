"""Where sandboxed executions run: ``local`` (asyncio, this machine) or ``ray`` (a cluster).

Each is a ``Backend``: ``grade`` calls ``prestart`` before it prepares the batch (a backend may warm
kernels meanwhile), ``run`` once with the jobs, and ``close`` at the end, whatever happened.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..model import Job, Options
from ..runtime.execute import Execution

Done = Callable[[Job, Execution], None]  # hands one job's execution back to the grader, as soon as it is ready


class Backend(Protocol):
    def prestart(self) -> None:
        """Start what can start before the batch is prepared (e.g. fork servers importing the modules)."""

    def run(self, jobs: list[Job], done: Done) -> None:
        """Execute every job, calling ``done`` once per job."""

    def close(self) -> None:
        """Release what ``prestart`` or ``run`` left running."""


def make_backend(name: str, options: Options, address: str | None = None) -> Backend:
    """The backend ``pdl-grade grade --backend NAME`` asks for (Ray is imported only when asked)."""
    if name == "ray":
        from .ray import RayBackend

        return RayBackend(options, address)
    from .local import LocalBackend

    return LocalBackend(options)
