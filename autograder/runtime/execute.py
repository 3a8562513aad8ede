"""Run one prepared notebook in a sandboxed kernel with nbclient; keep outputs bounded.

Probe values (``pdl.kernel.probe.MIME``) are taken out of the outputs and returned apart,
with the index of the cell that produced them. Ordinary outputs are capped per cell
and per notebook as they arrive, so a student printing 300 MB costs the grader
nothing: every path by which a message changes the notebook counts (new outputs, stream
appends, results, errors, and display updates, which nbclient applies to earlier outputs
before ``output`` sees the message). A cell that times out is interrupted and the notebook
goes on; the whole notebook has a wall-clock limit too.

The cell marked ``HIDDEN_OF`` (the hidden checks, appended after the student's last cell by
``autograder.grade.make_job``) runs without history, with a time limit per hidden part, and only
its probe values are kept (credited to the test cell each belongs to): its outputs, display updates,
clear_output and comm messages are dropped, so nothing a hidden check makes a student's function
print or display reaches the notebook.
"""
from __future__ import annotations

import asyncio
import atexit
import json
import shutil
import tempfile
import time
from datetime import datetime, timezone
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbformat.v4 import new_output

from pdl.limits import CELL_TIMEOUT_S, NOTEBOOK_TIMEOUT_S
from pdl.kernel.probe import MAX_BYTES as PROBE_BYTES
from pdl.kernel.probe import MIME

from ..model import Status
from .forkserver_client import ForkedKernelManager, ForkServer
from .sandbox import Sandbox, SandboxedKernelManager

HIDDEN_OF = "pdl_hidden_of"  # cell metadata of the appended cell that runs the hidden parts: {grade id: test cell index}


@dataclass
class OutputCaps:
    per_cell: int = 256 * 1024
    per_notebook: int = 2 * 1024 * 1024
    probes: int = 16 * PROBE_BYTES


@dataclass
class Execution:
    cells: list[NotebookNode]
    probes: list[tuple[int, str, str]] = field(default_factory=list)  # (cell index, probe id, outcome JSON)
    error: Status | None = None  # None: it ran to the end; TIMEOUT, KERNEL_DIED, KERNEL_FAILED (the backends: also
    # INVALID_NOTEBOOK, when the job could not be prepared, and GRADER_ERROR)
    message: str = ""
    seconds: float = 0.0
    compute_seconds: float = 0.0  # the cells' own run time in the kernel (the student's code and the probes)
    truncated: bool = False


class CappedClient(NotebookClient):
    """nbclient with bounded outputs and probe values set aside."""

    def __init__(self, nb: NotebookNode, caps: OutputCaps, **kwargs: Any):
        super().__init__(nb, **kwargs)
        self.caps = caps
        self.cell_bytes: dict[int, int] = {}
        self.total_bytes = 0
        self.probe_bytes = 0
        self.probes: list[tuple[int, str, str]] = []
        self.truncated = False
        self.timed_out: list[int] = []  # indices of cells that hit the cell timeout
        self.sent = ""  # when the current cell's request went out
        self.hidden_of = {i: c.metadata[HIDDEN_OF] for i, c in enumerate(nb.cells) if HIDDEN_OF in c.get("metadata", {})}
        # the hidden cell runs every part with the cell timeout each (pdl.kernel.probe.run_hidden_all)
        self.timeout_func = lambda cell: (self.timeout and self.timeout * max(1, len(cell.metadata.get(HIDDEN_OF) or {})))
        # display id -> cell index -> the sizes of that cell's outputs carrying it (what an update replaces)
        self.display_sizes: dict[str, dict[int, list[int]]] = {}
        self.on_cell_complete = self._request_sent
        self.on_cell_executed = self._reply_received

    # nbclient's public hooks (as nbgrader's preprocessors/execute.py uses them), set in __init__

    def _request_sent(self, cell: NotebookNode, cell_index: int) -> None:
        """on_cell_complete: nbclient has just sent the cell's execute request."""
        self.sent = datetime.now(timezone.utc).isoformat()

    def _reply_received(self, cell: NotebookNode, cell_index: int, execute_reply: dict) -> None:
        """on_cell_executed: the kernel's execute_reply, or nbclient's stand-in for a cell that timed out
        (built from ``error_on_timeout``: no header, no metadata)."""
        if "header" not in execute_reply:  # the hidden cell, past all its parts' time: the first test cell's
            self.timed_out.append(min(self.hidden_of[cell_index].values()) if cell_index in self.hidden_of else cell_index)
        if self.record_timing:  # the kernel publishes no execute_input (pdl/kernel/grading_kernel.py): its reply
            # says when the cell started; for the stand-in, the time the request was sent
            started = (execute_reply.get("metadata") or {}).get("started")
            cell["metadata"]["execution"]["shell.execute_reply.started"] = str(started or self.sent)

    async def async_execute_cell(self, cell: NotebookNode, cell_index: int, execution_count: int | None = None,
                                 store_history: bool = True) -> NotebookNode:
        """A hidden check's cell leaves nothing in IPython's history (In, _ih, _i, Out) nor an execution count."""
        if cell_index in self.hidden_of:
            store_history = False
        return await super().async_execute_cell(cell, cell_index, execution_count, store_history)

    def process_message(self, msg: dict, cell: NotebookNode, cell_index: int) -> NotebookNode | None:
        msg_type = msg.get("msg_type")
        content = msg.get("content")
        if msg_type in ("status", "execute_input"):  # nbclient's bookkeeping: the end of the cell, its timing
            return super().process_message(msg, cell, cell_index)
        if not isinstance(content, dict) or not isinstance(content.get("transient") or {}, dict):
            return None  # not what a kernel sends (nbclient would raise on it); the kernel is the student's
        data = content.get("data")
        if msg_type == "display_data" and isinstance(data, dict) and MIME in data:
            return self._probes(data[MIME], cell_index)  # never an output, never a display update
        if cell_index in self.hidden_of or msg_type.startswith("comm"):
            # a hidden check's outputs are dropped; comms: the grader keeps no widget state (graded_notebook
            # uses the submitted metadata) and output widgets would route outputs around these caps
            return None
        display_id = (content.get("transient") or {}).get("display_id")
        if display_id and msg_type in ("display_data", "execute_result", "update_display_data"):
            if not self._charge_update(display_id, len(json.dumps(content, default=str)), cell.outputs, cell_index):
                return None
        return super().process_message(msg, cell, cell_index)

    def _probes(self, payload: Any, cell_index: int) -> None:
        items = payload.get("probes") if isinstance(payload, dict) else None
        owners = self.hidden_of.get(cell_index)  # the hidden cell: each probe to the test cell of its grade id
        for item in items if isinstance(items, list) else []:
            if isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item):
                self.probe_bytes += len(item[1])
                index = cell_index if owners is None else owners.get(item[0].split("#", 1)[0])
                if self.probe_bytes <= self.caps.probes and index is not None:
                    self.probes.append((index, item[0], item[1]))
        late = payload.get("timed_out") if isinstance(payload, dict) and owners is not None else None
        for grade_id in late if isinstance(late, list) else []:
            if isinstance(grade_id, str) and grade_id in owners and owners[grade_id] not in self.timed_out:
                self.timed_out.append(owners[grade_id])
        return None

    def _over(self, used: int, size: int) -> bool:
        return used + size > self.caps.per_cell or self.total_bytes + size > self.caps.per_notebook

    def _truncate(self, outs: list[NotebookNode], cell_index: int) -> None:
        if not self.truncated or self.cell_bytes.get(cell_index, 0) < self.caps.per_cell:
            outs.append(new_output("stream", name="stdout", text="[output truncated by the grader]\n"))
            self.cell_bytes[cell_index] = self.caps.per_cell
        self.truncated = True

    def _charge_update(self, display_id: str, size: int, outs: list[NotebookNode], cell_index: int) -> bool:
        """A message with a display id rewrites every earlier output with that id (nbclient applies it before
        ``output``): each grows to ``size``. Charged to the cells holding them and to the notebook, never
        refunded (as cleared outputs are not); False, and nothing changes, when that would pass a cap."""
        holders = self.display_sizes.get(display_id, {})
        growth = {i: sum(max(0, size - old) for old in sizes) for i, sizes in holders.items()}
        total = sum(growth.values())
        if total and (self.total_bytes + total > self.caps.per_notebook or any(
                self.cell_bytes.get(i, 0) + extra > self.caps.per_cell for i, extra in growth.items())):
            self._truncate(outs, cell_index)
            return False
        for i, extra in growth.items():
            self.cell_bytes[i] = self.cell_bytes.get(i, 0) + extra
            holders[i] = [max(old, size) for old in holders[i]]
        self.total_bytes += total
        return True

    def clear_display_id_mapping(self, cell_index: int) -> None:
        """nbclient forgets a cleared cell's outputs for display updates: so do the caps' records."""
        super().clear_display_id_mapping(cell_index)
        for holders in self.display_sizes.values():
            holders.pop(cell_index, None)

    def output(self, outs: list[NotebookNode], msg: dict, display_id: str | None, cell_index: int):
        content = msg.get("content", {})
        size = len(json.dumps(content, default=str))
        used = self.cell_bytes.get(cell_index, 0)
        if self._over(used, size):
            self._truncate(outs, cell_index)
            return None
        self.cell_bytes[cell_index] = used + size
        self.total_bytes += size
        out = super().output(outs, msg, display_id, cell_index)
        if out is not None and display_id:
            self.display_sizes.setdefault(display_id, {}).setdefault(cell_index, []).append(size)
        return out


async def execute(nb: NotebookNode, sandbox: Sandbox, runtime_dir: Path | None = None, *, cell_timeout: int = CELL_TIMEOUT_S,
                  total_timeout: int = NOTEBOOK_TIMEOUT_S, caps: OutputCaps | None = None,
                  server: ForkServer | None = None) -> Execution:
    """Execute ``nb`` (already restored and probe-transformed) in a fresh sandboxed kernel.

    With a ``server`` the kernel is forked from the slot's warm fork server, else launched.
    """
    started = time.monotonic()
    if server is not None:
        km = ForkedKernelManager(server)
        sandbox, runtime_dir = server.sandbox, km.runtime_dir
    else:
        assert runtime_dir is not None
        km = SandboxedKernelManager(sandbox, runtime_dir)
    client = CappedClient(nb, caps or OutputCaps(), km=km, timeout=cell_timeout, startup_timeout=60,
                          allow_errors=True, interrupt_on_timeout=True, shutdown_kernel="immediate",
                          record_timing=True,
                          ipython_hist_file="",  # history is off (sandbox.kernel_config): no argument for it
                          error_on_timeout={"ename": "CellTimeout", "traceback": [],
                                            "evalue": f"the cell ran longer than {cell_timeout} s and was interrupted"})
    result = Execution(cells=nb.cells)
    log = tempfile.TemporaryFile()  # the kernel's own stdout/stderr, for start-up failures
    run = asyncio.ensure_future(client.async_execute(stdout=log, stderr=log))
    try:
        done, _ = await asyncio.wait({run}, timeout=total_timeout)
        if not done:  # nbclient turns the cancellation into DeadKernelError: decide before it does
            result.error, result.message = Status.TIMEOUT, f"the notebook ran longer than {total_timeout} s and was stopped"
            run.cancel()
            await asyncio.gather(run, return_exceptions=True)
        else:
            run.result()
    except DeadKernelError as exc:
        result.error, result.message = Status.KERNEL_DIED, f"the kernel died: {exc}"
        if km.cgroup.out_of_memory():
            result.message = f"the kernel used more than {sandbox.limits.memory >> 20} MiB of memory and was killed"
    except RuntimeError as exc:  # the kernel did not start, e.g. the sandbox refused it
        log.seek(0)
        tail = log.read()[-1500:].decode("utf-8", "replace")
        result.error, result.message = Status.KERNEL_FAILED, f"the kernel could not run: {exc}\n{tail}"
    finally:
        if client.kc is not None:  # nbclient leaves a client it did not make open: close its sockets
            client.kc.stop_channels()
            client.kc = None
        if km.has_kernel:
            try:
                await km.shutdown_kernel(now=True)
            except Exception:  # noqa: BLE001 (already gone)
                pass
        km.release_sandbox()
        if server is not None:
            try:
                await server.reap()
            except (RuntimeError, asyncio.TimeoutError):
                pass  # a dead server is replaced by the pool
        await km.cleanup_resources()
        atexit.unregister(client._cleanup_kernel)  # nbclient leaves it registered when start-up fails
        shutil.rmtree(runtime_dir, ignore_errors=True)
        log.close()
    result.probes = client.probes
    result.truncated = client.truncated
    if client.timed_out:
        client.timed_out = sorted(set(client.timed_out))  # the hidden parts' cells come in after the last cell
        note = (f"cell{'s' if len(client.timed_out) > 1 else ''} {', '.join(str(i + 1) for i in client.timed_out)} "
                f"ran longer than {cell_timeout} s and {'were' if len(client.timed_out) > 1 else 'was'} interrupted")
        result.message = "; ".join(filter(None, [note, result.message]))
    result.seconds = time.monotonic() - started
    result.compute_seconds = compute_seconds(result.cells)
    return result


def compute_seconds(cells: list[NotebookNode] | list[dict[str, Any]]) -> float:
    """Summed time of the cells in the kernel: from the start of each execute request to its reply,
    both stamped by the kernel (the reply's metadata and header, kept by record_timing); for a cell
    that timed out, from when the grader sent the request to nbclient's stand-in reply. nbgrader's
    stock kernel announces the start with ``iopub.execute_input`` instead, which bench/ reads here too."""
    total = 0.0
    for cell in cells:
        timing = cell.get("metadata", {}).get("execution", {})
        start = timing.get("shell.execute_reply.started") or timing.get("iopub.execute_input")
        end = timing.get("shell.execute_reply")
        if start and end:
            total += max(0.0, (datetime.fromisoformat(end.replace("Z", "+00:00"))
                               - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds())
    return round(total, 4)
