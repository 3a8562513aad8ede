"""Run jobs on this machine: N sandboxed kernels at a time, driven by one asyncio loop.

The kernels are separate processes, so one event loop keeps N of them busy. Each
worker slot has its own sandbox uid and, where the host allows it (root, bubblewrap),
a warm fork server that has already imported the assignment's modules: a submission's
kernel is then forked in milliseconds instead of started in seconds. Every submission
still gets a fresh kernel process of its own, killed after it.
"""
from __future__ import annotations

import asyncio
import os
import tempfile
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import nbformat

from ..model import Job, Options, PrepareError, Status
from ..runtime.cgroups import sweep_stale
from ..runtime.execute import Execution, execute
from ..runtime.forkserver_client import ForkServer
from ..runtime.sandbox import Limits, Sandbox

if TYPE_CHECKING:
    from . import Done

__all__ = ["LocalBackend", "run_in", "threads_per_worker", "use_fork_servers"]


def threads_per_worker(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def make_sandbox(options: Options, slot: int) -> Sandbox:
    return Sandbox(slot=slot, enabled=options.sandbox, data_dir=options.data_dir,
                   limits=Limits(threads=options.threads or threads_per_worker(options.workers),
                                 memory=options.memory_mib << 20),
                   gpu_devices=list(options.gpu_devices))


def use_fork_servers(options: Options) -> bool:
    """Fork servers need the sandbox and root (they drop each kernel to the slot's uid)."""
    return options.sandbox and os.geteuid() == 0 and options.warm


async def run_one(job, options: Options, slot: int, server: ForkServer | None = None) -> Execution:
    """One job in a fresh kernel of this machine's worker ``slot``."""
    return await run_in(job, make_sandbox(options, slot), server)


async def run_in(job, sandbox: Sandbox, server: ForkServer | None, runtime_prefix: str = "pdl-kernel-") -> Execution:
    """One job in a fresh kernel: forked from ``server`` when given, else launched in its own sandbox
    (in a runtime dir named ``runtime_prefix``...). Shared by the local and the Ray backend.

    A forked kernel that fails to start (a busy machine, a dead server) is retried once, launched.
    """
    try:
        job.ready()
    except PrepareError as exc:
        return Execution(cells=[], error=Status.INVALID_NOTEBOOK, message=str(exc))
    runtime = None if server else Path(tempfile.mkdtemp(prefix=runtime_prefix))
    try:
        execution = await execute(nbformat.from_dict(job.notebook), sandbox, runtime,
                                  cell_timeout=job.cell_timeout, total_timeout=job.total_timeout, server=server)
        if execution.error is Status.KERNEL_FAILED and server is not None:
            return await run_in(job, sandbox, None, runtime_prefix)
        return execution
    except Exception as exc:  # noqa: BLE001 (one submission must not stop the batch)
        return Execution(cells=[], error=Status.GRADER_ERROR,
                         message=f"the grader failed on this submission: {type(exc).__name__}: {exc}\n"
                                 + traceback.format_exc(limit=3))


class Slot:
    """A worker slot: its number (uid, cgroup names) and its fork server, restarted if it dies."""

    def __init__(self, number: int, options: Options):
        self.number = number
        self.options = options
        self.server: ForkServer | None = None
        self.starting: asyncio.Task | None = None
        self.spawned: ForkServer | None = None  # started by spawn(), not yet seen ready

    def _new_server(self) -> ForkServer:
        return ForkServer(make_sandbox(self.options, self.number), list(self.options.preload))

    async def spawn(self) -> None:
        """Start the fork server's process without waiting for its imports."""
        if use_fork_servers(self.options):
            server = self._new_server()
            try:
                await server.spawn()
            except (RuntimeError, OSError):
                await server.close()
                return
            self.spawned = server

    def warm_up(self) -> None:
        if use_fork_servers(self.options):
            self.starting = asyncio.ensure_future(self._start())

    async def _start(self) -> ForkServer | None:
        server, self.spawned = self.spawned or self._new_server(), None
        try:
            if server.proc is None:
                await server.spawn()
            await server.ready()
        except (RuntimeError, OSError):
            await server.close()
            return None  # fall back to launched kernels for this slot
        return server

    async def get_server(self) -> ForkServer | None:
        if self.starting is not None:
            self.server, self.starting = await self.starting, None
        if self.server is not None and not self.server.alive:
            await self.server.close()
            self.server = await self._start()
        return self.server

    async def close(self) -> None:
        await self.get_server()
        if self.server is not None:
            await self.server.close()


class Prestart:
    """The slots' fork servers, started before the batch is prepared: their imports (~1 s)
    overlap with the release and the intake. ``run`` goes on in the same event loop,
    which owns the servers' pipes; ``close`` stops any that ``run`` did not take."""

    def __init__(self, options: Options):
        sweep_stale()
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)  # as asyncio.run would, for code that asks for "the" loop
        self.slots = [Slot(n, options) for n in range(max(1, options.workers))]
        self.loop.run_until_complete(asyncio.gather(*(slot.spawn() for slot in self.slots)))

    def take(self, count: int) -> list[Slot]:
        taken, self.slots = self.slots[:count], self.slots[count:]
        return taken

    def close(self) -> None:
        if self.loop.is_closed():
            return
        left, self.slots = self.slots, []
        servers = [slot.spawned for slot in left if slot.spawned is not None]
        self.loop.run_until_complete(asyncio.gather(*(s.close() for s in servers), return_exceptions=True))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        asyncio.set_event_loop(None)
        self.loop.close()


class LocalBackend:
    """N sandboxed kernels at a time on this machine; ``prestart`` starts the slots' fork servers."""

    def __init__(self, options: Options):
        self.options = options
        self.pool: Prestart | None = None

    def prestart(self) -> None:
        self.pool = Prestart(self.options)

    def run(self, jobs: list[Job], done: Done) -> None:
        pool, self.pool = self.pool, None
        run(jobs, self.options, done, pool)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()  # servers run() did not take (all of them when preparing the batch failed)
            self.pool = None


def run(jobs: list[Job], options: Options, done: Callable, pool: Prestart | None = None) -> None:
    """Execute ``jobs`` in slots of this machine, on ``pool``'s servers when it was started (it is closed)."""
    if pool is None:
        sweep_stale()

    async def main() -> None:
        slots: asyncio.Queue[Slot] = asyncio.Queue()
        count = max(1, min(options.workers, len(jobs)))
        all_slots = pool.take(count) if pool is not None else []
        all_slots += [Slot(n, options) for n in range(len(all_slots), count)]
        for slot in all_slots:
            slot.warm_up()
            slots.put_nowait(slot)

        async def one(job) -> None:
            slot = await slots.get()
            try:
                execution = await run_one(job, options, slot.number, await slot.get_server())
            finally:
                slots.put_nowait(slot)
            done(job, execution)

        try:
            await asyncio.gather(*(one(job) for job in jobs))
        finally:
            await asyncio.gather(*(slot.close() for slot in all_slots), return_exceptions=True)

    if pool is None:
        asyncio.run(main())
        return
    try:
        pool.loop.run_until_complete(main())
    finally:
        pool.close()

