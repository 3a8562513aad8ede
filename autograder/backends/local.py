"""Run jobs on this machine: N sandboxed kernels at a time, driven by one asyncio loop.

The kernels are separate processes, so one event loop keeps N of them busy; each
job gets a worker slot (its own sandbox uid) and a fresh kernel that is killed after.
"""
from __future__ import annotations

import asyncio
import os
import tempfile
import traceback
from pathlib import Path
from typing import Callable

import nbformat

from ..cgroups import sweep_stale
from ..execute import Execution, execute
from ..sandbox import Limits, Sandbox


def threads_per_worker(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, workers))


async def run_one(job, options, slot: int) -> Execution:
    sandbox = Sandbox(slot=slot, enabled=options.sandbox, data_dir=options.data_dir,
                      limits=Limits(threads=threads_per_worker(options.workers)))
    runtime = Path(tempfile.mkdtemp(prefix="pdl-kernel-"))
    try:
        return await execute(nbformat.from_dict(job.notebook), sandbox, runtime,
                             cell_timeout=job.cell_timeout, total_timeout=job.total_timeout)
    except Exception as exc:  # noqa: BLE001 (one submission must not stop the batch)
        return Execution(cells=[], error="grader_error",
                         message=f"the grader failed on this submission: {type(exc).__name__}: {exc}\n"
                                 + traceback.format_exc(limit=3))


def run(jobs: list, options, done: Callable) -> None:
    sweep_stale()

    async def main() -> None:
        slots: asyncio.Queue[int] = asyncio.Queue()
        for slot in range(max(1, options.workers)):
            slots.put_nowait(slot)

        async def one(job) -> None:
            slot = await slots.get()
            try:
                execution = await run_one(job, options, slot)
            finally:
                slots.put_nowait(slot)
            done(job, execution)

        await asyncio.gather(*(one(job) for job in jobs))

    asyncio.run(main())
