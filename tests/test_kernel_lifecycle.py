"""A kernel's start and end as the grader sees them: the manager's ready future, its interrupts,
and the fork server's exit notices (including pids the sandbox uses again)."""
from __future__ import annotations

import asyncio
import json
import shutil

import pytest
from jupyter_client.manager import KernelManager

from autograder.runtime.kernel_manager import LeanKernelManager
from autograder.runtime.forkserver_client import ForkServer
from autograder.runtime.sandbox import Sandbox


@pytest.fixture
def interrupts(monkeypatch) -> list[bool]:
    """Every interrupt that reaches jupyter_client, with whether a kernel was running."""
    seen: list[bool] = []
    original = KernelManager._async_interrupt_kernel

    async def counting(self):
        seen.append(self.has_kernel)
        return await original(self)

    monkeypatch.setattr(KernelManager, "_async_interrupt_kernel", counting)
    return seen


def test_either_shutdown_ends_the_kernel_that_started_ready(tmp_path, interrupts):
    async def run() -> list[tuple[bool, bool]]:
        states = []
        for now in (True, False):
            km = LeanKernelManager(kernel_name="python3", connection_file=str(tmp_path / f"k{now}.json"))
            await km.start_kernel()
            started = km.ready.done() and km.ready.exception() is None
            await km.shutdown_kernel(now=now)
            states.append((started, await km.is_alive()))
        return states

    states = asyncio.run(run())
    assert states == [(True, False), (True, False)]  # ready once started; gone after either shutdown
    assert interrupts == [True, True]  # jupyter_client's own shutdown: it interrupts a running kernel first


def test_a_failed_start_sets_ready_to_its_error(tmp_path):
    async def run() -> tuple[type, type]:
        km = LeanKernelManager(kernel_name="python3", connection_file=str(tmp_path / "k.json"))
        km.kernel_spec.argv = [str(tmp_path / "no-such-python"), "-f", "{connection_file}"]
        with pytest.raises(Exception) as raised:
            await km.start_kernel()
        return raised.type, type(km.ready.exception())

    raised, stored = asyncio.run(run())
    assert stored is raised


class FakeProcess:
    """The fork server's process as ForkServer sees it: its stdout, and whether it was killed."""

    def __init__(self, lines: list[bytes]):
        self.stdout = asyncio.StreamReader()
        for line in lines:
            self.stdout.feed_data(line)
        self.returncode: int | None = None

    def kill(self) -> None:
        self.returncode = -9
        self.stdout.feed_eof()

    async def wait(self) -> int:
        return self.returncode or 0


@pytest.fixture
def fake_server(tmp_path):
    """A ForkServer whose process is a FakeProcess fed the given reply lines."""
    made: list[ForkServer] = []

    def make(lines: list[bytes]) -> ForkServer:
        server = ForkServer(Sandbox(slot=0, enabled=False, data_dir=tmp_path), [])
        server.proc = FakeProcess(lines)  # type: ignore[assignment]
        made.append(server)
        return server

    yield make
    for server in made:
        shutil.rmtree(server.runtime, ignore_errors=True)


def _line(message: dict) -> bytes:
    return (json.dumps(message) + "\n").encode()


def test_a_pid_used_again_does_not_inherit_its_earlier_exit(fake_server):
    async def run() -> tuple[bool, bool]:
        server = fake_server([_line({"op": "exit", "pid": 7, "status": 0})])
        reader = asyncio.ensure_future(server._read())
        await asyncio.sleep(0.01)
        exited_before = server.exit_event(7).is_set()
        server._handle({"op": "forked", "id": "1", "pid": 7})  # the sandbox gave pid 7 to a new kernel
        waiting = server.exit_event(7)
        still_running = not waiting.is_set()
        server.proc.kill()
        await reader
        return exited_before, still_running

    assert asyncio.run(run()) == (True, True)


def test_an_unreadable_reply_replaces_the_server_and_wakes_every_waiter(fake_server):
    async def run() -> tuple[bool, bool, bool]:
        server = fake_server([])
        reader = asyncio.ensure_future(server._read())
        server._send = lambda message: None  # type: ignore[method-assign]
        request = asyncio.ensure_future(server._request({"op": "fork"}))
        waiting = server.exit_event(3)
        await asyncio.sleep(0.01)
        server.proc.stdout.feed_data(b"not json\n")
        await asyncio.gather(reader, return_exceptions=True)
        failed = isinstance((await asyncio.gather(request, return_exceptions=True))[0], RuntimeError)
        return failed, waiting.is_set(), server.proc.returncode is not None

    assert asyncio.run(run()) == (True, True, True)
