"""Run jobs on a Ray cluster: one Ray task per submission, results streamed back as they finish.

Only execution is distributed. The trusted work (restoring, judging, storing) stays in
the driver, in ``done``; a task gets a prepared notebook with nothing secret in it and
returns its outputs and probe values. Every node needs the course installed in the same
way as the driver (``pip install .[cluster]``, bubblewrap, the data file): tasks import
``autograder`` and ``pdl`` from there; nothing is shipped with ``runtime_env``.

Slots: a sandbox needs a slot that no other kernel on its node uses at the same time
(its uid and cgroup are named by it), but Ray decides on which node a task runs. So each
Ray worker process takes a free slot on its own node with an exclusive ``flock`` on a
per-slot file and keeps it while it lives (Ray runs one task at a time per worker
process). The kernel drops the lock when the process exits or is killed, so a crash never
leaks a slot. Ray slots start at ``SLOT_BASE`` so that they do not share uids with a
local-backend run on the same machine. Where the host allows it (root, sandbox on), the
worker process also keeps its slot's warm fork server between tasks, as the local backend
does: every submission still gets a freshly forked kernel of its own.

A worker killed in mid-task (node lost, OOM killer, kill -9) is retried by Ray
(``max_retries``); the sandbox dies with its worker (bwrap ``--die-with-parent``), and
the retried task's result reaches ``done`` once, because each task's result is
collected once. Results are keyed and written idempotently by the driver anyway.
"""
from __future__ import annotations

import asyncio
import atexit
import fcntl
import json
import os
import shutil
import socket
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import nbformat

from ..model import GradeError, Job, Options, PrepareError, Status
from ..runtime.cgroups import sweep_stale
from ..runtime.execute import Execution
from ..runtime.forkserver_client import ForkServer
from ..runtime.gpu import sandbox_devices
from ..runtime.sandbox import Limits, Sandbox
from .local import run_in, use_fork_servers

try:
    import ray
except ImportError:  # the optional extra: pip install .[cluster]
    ray = None

SLOT_BASE = 100  # uids 61100+ on Ray nodes; the local backend uses 61000 + 0..workers-1
MAX_SLOTS = 256
SLOT_DIR = Path(os.environ.get("PDL_RAY_SLOT_DIR", f"{tempfile.gettempdir()}/pdl-ray-slots-{os.geteuid()}"))
CPUS_PER_TASK = 1  # one kernel per core; the sandbox caps its threads to match
GPU_SHARE = 0.25  # the course's exercises are small: four kernels share a GPU
MAX_RETRIES = 3  # a task whose worker died is run again this many times


def gpu_request(mode: str, cluster: dict[str, float]) -> float:
    """GPUs each task asks Ray for: a share of one with ``--gpu auto`` on a cluster that has any, else 0."""
    return GPU_SHARE if mode == "auto" and cluster.get("GPU", 0) > 0 else 0.0


def worker_data_dir(driver_dir: Path | str | None) -> Path | None:
    """The data folder on this node: the driver's path if it exists here, else this node's own."""
    if driver_dir is not None and Path(driver_dir).is_dir():
        return Path(driver_dir)
    from pdl import data

    for path in data.candidates():
        if path.is_file():
            return path.parent
    return None


def task_gpu_devices(mode: str, environ: dict[str, str] | None = None, dev: Path = Path("/dev")) -> list[str]:
    """The /dev/nvidia* nodes of the GPU Ray gave this task; none when it gave none (CUDA_VISIBLE_DEVICES
    unset or empty: unlike a local run, that must not mean "all of this node's GPUs")."""
    env = os.environ if environ is None else environ
    if mode != "auto" or not env.get("CUDA_VISIBLE_DEVICES"):
        return []
    return sandbox_devices(mode, dict(env), dev)


def take_slot(folder: Path = SLOT_DIR, base: int = SLOT_BASE, count: int = MAX_SLOTS) -> tuple[int, IO[str]]:
    """A slot that no other process on this node holds, and the open lock file that holds it.

    Closing the file, or the process dying (kill -9 included), frees the slot.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for slot in range(base, base + count):
        handle = open(folder / f"{slot}.lock", "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        return slot, handle
    raise RuntimeError(f"all {count} sandbox slots on this node are in use")


class Worker:
    """What one Ray worker process keeps between the tasks Ray sends it: its slot, an event loop and,
    where the host allows it, the slot's warm fork server (as in the local backend). Ray runs one task at
    a time in a worker process, so the process can hold its slot for as long as it lives."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.slot, self.lock = take_slot()
        for pattern in (f"pdl-slot{self.slot}-*", f"pdl-ray-run-{self.slot}-*"):  # a killed holder's leftovers
            for stale in Path(tempfile.gettempdir()).glob(pattern):
                shutil.rmtree(stale, ignore_errors=True)
        sweep_stale()  # and its cgroups
        self.server: ForkServer | None = None
        self.server_key: tuple | None = None
        atexit.register(self.cleanup)

    def cleanup(self) -> None:
        """When Ray ends this worker process: the fork server dies with it; remove its cgroup and files."""
        if self.server is not None:
            self.server.cgroup.remove()
            shutil.rmtree(self.server.runtime, ignore_errors=True)

    def sandbox(self, options: Any) -> Sandbox:
        # the driver's gpu_devices name its own devices: this node's come from what Ray gave the task
        return Sandbox(slot=self.slot, enabled=options.sandbox, data_dir=worker_data_dir(options.data_dir),
                       limits=Limits(threads=CPUS_PER_TASK, memory=options.memory_mib << 20),
                       gpu_devices=task_gpu_devices(options.gpu))

    async def get_server(self, sandbox: Sandbox, options: Any) -> ForkServer | None:
        """The warm server for this sandbox and preload list; restarted when either changed or it died."""
        if not use_fork_servers(options):
            return None
        key = (repr(sandbox), tuple(options.preload))
        if self.server is not None and (key != self.server_key or not self.server.alive):
            await self.server.close()
            self.server, self.server_key = None, None
        if self.server_key != key:  # start once per key; if that fails, launch kernels instead
            self.server_key = key
            server = ForkServer(sandbox, list(key[1]))
            try:
                await server.start()
                self.server = server
            except (RuntimeError, OSError):
                await server.close()
        return self.server

    async def _run(self, job: Any, options: Any) -> Execution:
        sandbox = self.sandbox(options)
        return await run_in(job, sandbox, await self.get_server(sandbox, options), f"pdl-ray-run-{self.slot}-")

    def run(self, job: Any, options: Any) -> Execution:
        return self.loop.run_until_complete(self._run(job, options))


_worker: Worker | None = None


def execute_job(job: Any, options: Any) -> dict[str, Any]:
    """On a worker: run one prepared notebook in a fresh sandboxed kernel; a plain, picklable result."""
    global _worker
    try:
        if _worker is None:
            _worker = Worker()
        execution = _worker.run(job, options)
    except Exception as exc:  # noqa: BLE001 (one submission must not stop the batch)
        execution = Execution(cells=[], error=Status.GRADER_ERROR,
                              message=f"the grader failed on this submission: {type(exc).__name__}: {exc}\n"
                                      + traceback.format_exc(limit=3))
    return to_plain(execution)


def to_plain(execution: Execution) -> dict[str, Any]:
    """An Execution as plain data (no nbformat classes, no enum on the wire)."""
    result = dict(vars(execution))
    result["cells"] = json.loads(json.dumps(execution.cells))
    result["error"] = execution.error.value if execution.error is not None else None
    return result


def to_execution(result: dict[str, Any]) -> Execution:
    """Back in the driver: the worker's plain result as an Execution with nbformat cells."""
    fields = dict(result)
    fields["cells"] = [nbformat.from_dict(c) for c in fields["cells"]]
    fields["probes"] = [tuple(p) for p in fields.get("probes", [])]
    fields["error"] = Status(fields["error"]) if fields.get("error") is not None else None
    return Execution(**fields)


def _failed(exc: BaseException) -> Execution:
    return Execution(cells=[], error=Status.GRADER_ERROR,
                     message=f"the Ray task failed after {MAX_RETRIES} retries: {type(exc).__name__}: {exc}"[:2000])


def _check_reachable(address: str | None, timeout: float = 10) -> None:
    """Fail fast on a wrong HOST:PORT: ray.init retries a dead address for many minutes."""
    if not address or "://" in address or address in ("auto", "local") or ":" not in address:
        return
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except (OSError, ValueError) as exc:
        raise GradeError(f"cannot reach the Ray cluster at {address}: {exc}. Is it running (ray status)? "
                         "--address is the head node's HOST:PORT (ray start --head --port, default 6379).") from exc


def _use_token_if_available() -> None:
    """Send the cluster token where there is one (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token).

    ``ray start`` turns token authentication on when it finds a token, and a local ``ray.init()``
    makes one, but ``ray.init(address=...)`` only looks for it without an address: do what it does
    there for every address, unless RAY_AUTH_MODE says otherwise.
    """
    if "RAY_AUTH_MODE" in os.environ:
        return
    try:
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )
    except ImportError:  # a Ray without token authentication
        return
    maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


class RayBackend:
    """One Ray task per submission on a cluster. ``address`` as for ``ray.init`` (None: $RAY_ADDRESS, the
    cluster started on this machine, or else a new one-machine cluster; "ray://host:10001": Ray Client)."""

    def __init__(self, options: Options, address: str | None = None):
        if ray is None:
            raise GradeError("the Ray backend needs the cluster extra: pip install '.[cluster]'")
        self.options, self.address = options, address

    def prestart(self) -> None:
        """Nothing to start early: each worker keeps its own warm fork servers."""

    def close(self) -> None:
        """Nothing left: ``run`` disconnects from the cluster it connected to."""

    def run(self, jobs: list[Job], done: Callable) -> None:
        options, address = self.options, self.address
        connected_here = not ray.is_initialized()
        if connected_here:
            _check_reachable(address)
            _use_token_if_available()
            try:
                ray.init(address=address, log_to_driver=False, logging_level="WARNING")
            except ConnectionError as exc:
                raise GradeError(f"cannot connect to the Ray cluster at {address or 'RAY_ADDRESS / this machine'}: "
                                 f"{exc.__cause__ or exc}. Is it running (ray status)? If it uses token "
                                 "authentication, set RAY_AUTH_TOKEN or put the token in ~/.ray/auth_token.") from exc
        try:
            remote = ray.remote(execute_job).options(
                num_cpus=CPUS_PER_TASK, num_gpus=gpu_request(options.gpu, ray.cluster_resources()),
                max_retries=MAX_RETRIES, retry_exceptions=False, name="pdl-grade")
            options_ref = ray.put(options)
            pending = {}
            for job in jobs:  # restored here, in the trusted driver: workers get plain notebooks only
                try:
                    job.ready()
                except PrepareError as exc:
                    done(job, Execution(cells=[], error=Status.INVALID_NOTEBOOK, message=str(exc)))
                    continue
                pending[remote.remote(job, options_ref)] = job
            while pending:  # hand each result to the driver as soon as it is ready
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    job = pending.pop(ref)
                    try:
                        execution = to_execution(ray.get(ref))
                    except (ray.exceptions.RayError, OSError) as exc:  # retries used up, node lost for good
                        execution = _failed(exc)
                    done(job, execution)
        finally:
            if connected_here:
                ray.shutdown()
