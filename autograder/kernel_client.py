"""A kernel client that is ready as soon as the kernel is.

jupyter_client's ``wait_for_ready`` waits for 0.2 s of IOPub silence twice (once to see that
IOPub is connected, once to flush it): 0.4 s per kernel, more than a forked kernel takes to
start. Here the first IOPub message proves the subscription, and the flush waits 20 ms.
nbclient matches outputs by parent message id, so a late status message is harmless.

Its sockets retry a connection every 10 ms, not zmq's 100 ms: a forked kernel binds its
sockets some 50 ms after the client first tries. Nor does it start the heartbeat channel:
that is a thread with an event loop of its own per kernel, and the kernel manager already
knows whether its process is alive.
"""
from __future__ import annotations

import time
from queue import Empty

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from traitlets import default

RECONNECT_MS = 10
# zmq refuses bigger messages before they reach our memory (and then the channel breaks for good,
# so pdl.outcap caps ordinary printing in the kernel long before this)
MAX_MESSAGE_BYTES = 64 << 20


class ReadyClient(AsyncKernelClient):
    @default("context")
    def _context_default(self) -> zmq.asyncio.Context:
        self._created_context = True
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)  # defaults for the client's sockets
        context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        return context

    def start_channels(self, shell: bool = True, iopub: bool = True, stdin: bool = True, hb: bool = False,
                       control: bool = True) -> None:
        super().start_channels(shell=shell, iopub=iopub, stdin=stdin, hb=hb, control=control)

    async def wait_for_ready(self, timeout: float | None = None) -> None:  # type: ignore[override]
        deadline = time.time() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                msg = await self.shell_channel.get_msg(timeout=0.5)
            except Empty:
                msg = None
            if msg is not None and msg["msg_type"] == "kernel_info_reply":
                try:
                    await self.iopub_channel.get_msg(timeout=0.5)  # IOPub is subscribed
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(msg)
                    break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.time() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")
        while True:
            try:
                await self.iopub_channel.get_msg(timeout=0.02)
            except Empty:
                break
