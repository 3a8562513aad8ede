"""Warm kernels: one fork server per worker slot, a fresh forked kernel per submission.

The grader's side of forkserver.py. A slot's fork server is started once per batch in
its own bubblewrap sandbox, imports what the assignment's kernels import, and then
forks one kernel per submission. jupyter_client and nbclient drive that kernel exactly
like a launched one: ``ForkServerProvisioner`` (jupyter_client's provisioner API) only swaps
how the process is made.

Each forked kernel still gets its own process, its own cgroup (memory, pids, and a kill
of everything it leaves), its own private home and no capabilities: kernels are never
reused between students.
"""
from __future__ import annotations

import ast
import asyncio
import itertools
import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.provisioning import LocalProvisioner
from nbformat import NotebookNode

from .cgroups import Cgroup, group_name
from .sandbox import (FORKED_KERNEL, FORKSERVER, GRADING_KERNEL_APP, WORK, GiB, Sandbox, SandboxedKernelManager,
                      kernel_config)

START_TIMEOUT = 180  # preloading torch on a busy machine
SERVER_MEMORY = 4 * GiB  # the fork server itself: Python, numpy, torch; no student code


def preload_modules(notebooks: list[NotebookNode], extra: list[str] | None = None) -> list[str]:
    """Top-level modules that the notebooks' code cells import (what a fork server preloads)."""
    names: dict[str, None] = {}
    for nb in notebooks:
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names.update((a.name, None) for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names[node.module] = None
    for name in extra or []:
        names[name] = None
    return list(names)


def _ns_pids(pid: int) -> list[int]:
    """A process's pid in each nested pid namespace (outermost first)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return [int(p) for p in line.split()[1:]]
    except OSError:
        pass
    return []


def _descendants(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _host_pid(ns_pid: int, candidates: Iterable[int]) -> int:
    """The host pid of the process that is ``ns_pid`` inside a sandbox's pid namespace (0: none)."""
    for pid in candidates:
        chain = _ns_pids(pid)
        if len(chain) > 1 and chain[-1] == ns_pid:
            return pid
    return 0


class ForkedKernel:
    """The Popen-like handle jupyter_client's LocalProvisioner expects, for a forked kernel."""

    stdin = stdout = stderr = None

    def __init__(self, server: "ForkServer", ns_pid: int, host_pid: int):
        self.server = server
        self.ns_pid = ns_pid
        self.pid = host_pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and self.server.exited.get(self.ns_pid) is not None:
            self.returncode = self.server.exited.pop(self.ns_pid)
        if self.returncode is None and not self.server.alive:
            self.returncode = -signal.SIGKILL
        return self.returncode

    def wait(self) -> int | None:
        return self.poll()

    async def exited(self) -> None:
        """Return once the server has reported this kernel's exit (or has died itself)."""
        if self.poll() is None:
            await self.server.exit_event(self.ns_pid).wait()

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkServer:
    """A slot's pre-imported parent, in the slot's sandbox; forks kernels on request."""

    def __init__(self, sandbox: Sandbox, preload: list[str]):
        self.sandbox = sandbox
        self.preload = preload
        self.runtime = Path(tempfile.mkdtemp(prefix=f"pdl-slot{sandbox.slot}-"))
        os.chmod(self.runtime, 0o755)
        self.cgroup = Cgroup()
        self.proc: asyncio.subprocess.Process | None = None
        self.host_pid = 0
        self.exited: dict[int, int] = {}
        self._exit_events: dict[int, asyncio.Event] = {}
        self._replies: dict[str, asyncio.Future] = {}
        self._ids = itertools.count()
        self._reader: asyncio.Task | None = None
        self.log = self.runtime / "server.log"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def start(self) -> None:
        await self.spawn()
        await self.ready()

    async def spawn(self) -> None:
        """Start the server process; it imports its preload while the caller goes on."""
        self.cgroup = Cgroup.create(group_name(self.sandbox.slot, "server"),
                                    SERVER_MEMORY, 64)
        cmd = self.cgroup.wrap(self.sandbox.wrap([sys.executable, FORKSERVER], self.runtime, forkserver=True))
        with open(self.log, "ab") as log:
            self.proc = await asyncio.create_subprocess_exec(*cmd, stdin=asyncio.subprocess.PIPE,
                                                             stdout=asyncio.subprocess.PIPE, stderr=log,
                                                             start_new_session=True, limit=1 << 20)
        self._send({"preload": self.preload, "app": GRADING_KERNEL_APP, "config": kernel_config()})

    async def ready(self) -> None:
        """Wait until the spawned server has imported everything and can fork."""
        assert self.proc is not None and self.proc.stdout is not None
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), START_TIMEOUT)
            ready = json.loads(line)
        except (asyncio.TimeoutError, ValueError) as exc:
            await self.close()
            raise RuntimeError(f"the fork server did not start: {self._log_tail()}") from exc
        ns_pid = ready["pid"]
        self.host_pid = _host_pid(ns_pid, _descendants(self.proc.pid))
        self._reader = asyncio.ensure_future(self._read())

    def _log_tail(self) -> str:
        try:
            return self.log.read_bytes()[-1500:].decode("utf-8", "replace")
        except OSError:
            return ""

    def _send(self, message: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(message) + "\n").encode())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        try:
            while line := await self.proc.stdout.readline():
                self._handle(json.loads(line))
        except Exception:
            if self.proc.returncode is None:
                self.proc.kill()  # it said something we cannot read: replace it rather than trust it
            raise
        finally:  # nothing more will be answered or reported: wake everyone who waits
            for future in self._replies.values():
                if not future.done():
                    future.set_exception(RuntimeError(f"the fork server died: {self._log_tail()}"))
            for event in self._exit_events.values():
                event.set()
        await self.proc.wait()

    def _handle(self, message: dict[str, Any]) -> None:
        op, pid = message["op"], message.get("pid")
        if op == "exit":
            self.exited[pid] = message["status"]
            if pid in self._exit_events:
                self._exit_events.pop(pid).set()
            return
        if op == "forked":  # a pid used again: what is recorded for its earlier holder is stale
            self.exited.pop(pid, None)
            stale = self._exit_events.pop(pid, None)
            if stale is not None:
                stale.set()
        if "id" in message and message["id"] in self._replies:
            self._replies.pop(message["id"]).set_result(message)

    async def _request(self, message: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
        if not self.alive:
            raise RuntimeError(f"the fork server is not running: {self._log_tail()}")
        message["id"] = str(next(self._ids))
        future = asyncio.get_running_loop().create_future()
        self._replies[message["id"]] = future
        self._send(message)
        return await asyncio.wait_for(future, timeout)

    def exit_event(self, ns_pid: int) -> asyncio.Event:
        """Set when the server reports that its child ``ns_pid`` has exited."""
        event = self._exit_events.setdefault(ns_pid, asyncio.Event())
        if ns_pid in self.exited or (self._reader is not None and self._reader.done()):
            event.set()
        return event

    def job_dir(self) -> Path:
        """A fresh runtime dir for one kernel's connection file and sockets, owned by its uid."""
        path = Path(tempfile.mkdtemp(dir=self.runtime, prefix="job-"))
        os.chown(path, self.sandbox.uid, self.sandbox.uid)
        os.chmod(path, 0o711)  # the server (root without DAC override) must reach the log below
        (path / "kernel.log").touch(mode=0o600)  # root's: opened by the child before it drops its uid
        return path

    async def fork(self, connection_file: str, job_dir: Path, cgroup: Cgroup) -> ForkedKernel:
        """A new kernel process, in ``cgroup`` before it runs anything of the student's."""
        reply = await self._request({"op": "fork", "connection_file": connection_file,
                                     "log": str(job_dir / "kernel.log"),
                                     "home": WORK, "uid": self.sandbox.uid, "home_size": self.sandbox.limits.work_size})
        ns_pid = reply["pid"]
        # a new child is still in the server's cgroup: a few pids to look at instead of all of /proc
        host_pid = _host_pid(ns_pid, self.cgroup.pids() or _descendants(self.host_pid))
        if not host_pid:
            self._send({"op": "kill", "pid": ns_pid})
            raise RuntimeError("the forked kernel vanished before it started")
        await asyncio.to_thread(cgroup.add, host_pid)  # a cgroup move can wait on the kernel for milliseconds
        self._send({"op": "go", "pid": ns_pid})
        return ForkedKernel(self, ns_pid, host_pid)

    async def reap(self) -> None:
        """Kill whatever a kernel left in the sandbox (the cgroup already did, where there is one)."""
        if self.alive:
            await self._request({"op": "reap"})

    async def close(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            try:
                self.proc.stdin.close()
                await asyncio.wait_for(self.proc.wait(), 5)
            except (asyncio.TimeoutError, OSError):
                pass
        self.cgroup.remove()
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        shutil.rmtree(self.runtime, ignore_errors=True)


class ForkServerProvisioner(LocalProvisioner):
    """LocalProvisioner, except that the kernel process comes from the slot's fork server (registered as
    FORKED_KERNEL's provisioner; its kernel manager, a ForkedKernelManager, names the server)."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        km = self.parent
        assert isinstance(km, ForkedKernelManager)
        # the interpreter is already running and gets its settings as a Config: only the file is needed
        file_at = cmd.index("-f") + 1
        if cmd[file_at + 1:]:
            raise RuntimeError(f"a forked kernel takes no command-line arguments: {cmd[file_at + 1:]}")
        self.process = await km.server.fork(cmd[file_at], km.runtime_dir, km.cgroup)
        self.pid, self.pgid = self.process.pid, None
        return self.connection_info

    async def kill(self, restart: bool = False) -> None:
        """As LocalProvisioner's, and back once the server has reported the exit: the manager then finds
        the kernel dead at its first look, instead of polling it every 0.1 s."""
        await super().kill(restart)
        if isinstance(self.process, ForkedKernel):
            try:
                await asyncio.wait_for(self.process.exited(), 5)
            except asyncio.TimeoutError:
                pass  # the manager waits and warns as for any kernel

    async def wait(self) -> int | None:
        """As LocalProvisioner's, but woken by the server's exit notice instead of polling."""
        if isinstance(self.process, ForkedKernel):
            await self.process.exited()
        code, self.process = (self.process.returncode if self.process else 0), None
        return code


class ForkedKernelManager(SandboxedKernelManager):
    """A sandboxed kernel manager whose kernel (FORKED_KERNEL) is forked by a slot's fork server."""

    def __init__(self, server: ForkServer, **kwargs: Any):
        job_dir = server.job_dir()
        super().__init__(server.sandbox, job_dir, kernel_name=FORKED_KERNEL, **kwargs)
        self.server = server
        lim = server.sandbox.limits
        self.cgroup = Cgroup.create(group_name(server.sandbox.slot),
                                    lim.memory, lim.processes)
