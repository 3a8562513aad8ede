"""jupyter_client's AsyncKernelManager without the waits and sockets a kernel per submission does not need.

A batch starts and kills one kernel per student, so per-kernel costs add up:

- ``start_kernel`` and ``shutdown_kernel`` are wrapped by jupyter_client's ``in_pending_state``,
  which sets the manager's ``ready`` future and then sleeps 10 ms "so that tests can capture
  the state": 20 ms of every kernel's life. Here the same methods run unwrapped, with ``ready``
  still set as it means (done once the start or shutdown is).
- ``shutdown_kernel(now=True)`` interrupts the kernel before it kills it; the interrupt opens a
  control socket to a kernel that is about to die. Here an immediate shutdown only kills.
- Each manager made a zmq context of its own for that control socket (an I/O thread to start
  and to join); here it uses the process's shared one, which cleanup leaves alone.

The first two use jupyter_client's private methods (named and hashed in tests/test_upstream_contract.py):
jupyter_client offers no public way to skip them, and a batch pays them once per student.
"""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

import zmq.asyncio
from jupyter_client.manager import AsyncKernelManager, KernelManager
from traitlets import default

from .kernel_client import shared_context


def _unwrapped(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    return getattr(method, "__wrapped__", method)


class LeanKernelManager(AsyncKernelManager):
    _killing = False  # inside shutdown_kernel(now=True)

    @default("context")
    def _context_default(self) -> zmq.asyncio.Context:
        return shared_context()  # not _created_context: cleanup must not destroy the shared one

    async def _settled(self, method: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        """Run a start or shutdown step and settle the ``ready`` future, as in_pending_state does."""
        if self._attempted_start or not self._ready:
            self._ready = asyncio.get_running_loop().create_future()
        try:
            out = await method(self, *args, **kwargs)
        except Exception as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)
                self._ready.exception()  # the caller gets the exception; the future must not warn about it
            raise
        if self.owns_kernel and not self._ready.done():
            self._ready.set_result(None)
        return out

    async def start_kernel(self, **kwargs: Any) -> None:  # type: ignore[override]
        # private (the body under in_pending_state): its two 10 ms naps are 20 ms of each submission's ~260 ms
        await self._settled(_unwrapped(KernelManager._async_start_kernel), **kwargs)

    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:  # type: ignore[override]
        self._killing = now
        try:
            await self._settled(_unwrapped(KernelManager._async_shutdown_kernel), now=now, restart=restart)
        finally:
            self._killing = False

    async def _async_interrupt_kernel(self) -> None:
        # private override: shutdown_kernel(now=True) calls it before the kill; no public hook sits between them
        if self._killing:  # killed next: nothing to interrupt
            return
        await super()._async_interrupt_kernel()
