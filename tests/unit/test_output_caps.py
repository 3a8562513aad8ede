"""The output caps of runtime.execute.CappedClient, fed the kernel messages of every path that writes outputs.

No kernel: the messages are what ipykernel sends (display_data, update_display_data, execute_result, stream,
error, clear_output, comm), given to nbclient's ``process_message`` as its poller would. Issue 22 item 5: display
updates rewrite earlier outputs before ``output()`` sees them, and were not counted.
"""
from __future__ import annotations

import json
from itertools import count

import pytest
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_notebook
from nbclient.exceptions import CellExecutionComplete

from autograder.runtime.execute import HIDDEN_OF, CappedClient, OutputCaps
from pdl.kernel.probe import MIME

CAPS = OutputCaps(per_cell=64 * 1024, per_notebook=256 * 1024)
_ids = count()


def client(cells: int = 8, hidden: dict[int, dict[str, int]] | None = None) -> CappedClient:
    nb = new_notebook(cells=[new_code_cell("pass") for _ in range(cells)])
    for index, of in (hidden or {}).items():
        nb.cells[index].metadata[HIDDEN_OF] = of
    for cell in nb.cells:
        cell.outputs = []
    c = CappedClient(nb, CAPS)
    c.clear_before_next_output = False  # as async_execute_cell sets it before a cell's messages
    return c


def send(c: CappedClient, index: int, msg_type: str, content: dict) -> None:
    msg = {"msg_type": msg_type, "header": {"msg_type": msg_type, "msg_id": f"m{next(_ids)}"},
           "parent_header": {"msg_id": f"cell{index}"}, "content": content, "metadata": {}, "buffers": []}
    try:
        c.process_message(msg, c.nb.cells[index], index)
    except CellExecutionComplete:
        pass


def display(text: str, display_id: str | None = None, msg_type: str = "display_data") -> dict:
    content = {"data": {"text/plain": text}, "metadata": {}}
    if display_id:
        content["transient"] = {"display_id": display_id}
    if msg_type == "execute_result":
        content["execution_count"] = 1
    return content


def size(c: CappedClient) -> int:
    return len(json.dumps([cell.outputs for cell in c.nb.cells]))


MB = "y" * (1 << 20)


def test_updates_of_one_display_cannot_grow_it_past_the_cell_cap() -> None:
    c = client()
    send(c, 0, "display_data", display("x", "big"))
    for _ in range(6):
        send(c, 1, "update_display_data", display(MB * 6, "big"))
    assert size(c) < CAPS.per_notebook and c.truncated
    assert c.nb.cells[0].outputs[0].data["text/plain"] == "x"  # the refused update changed nothing


def test_one_update_of_many_displays_counts_once_per_display() -> None:
    c = client()
    for index in range(6):
        send(c, index, "display_data", display("x", "many"))
    send(c, 6, "update_display_data", display("y" * (50 * 1024), "many"))  # 6 x 50 KiB: past the notebook's 256
    assert size(c) < CAPS.per_notebook and c.truncated
    assert all(cell.outputs[0].data["text/plain"] == "x" for cell in c.nb.cells[:6])


def test_a_new_display_with_an_old_id_rewrites_the_old_ones_and_is_counted() -> None:
    c = client()
    for index in range(5):
        send(c, index, "display_data", display("x", "same"))
    send(c, 5, "display_data", display("y" * (60 * 1024), "same"))
    assert size(c) < CAPS.per_notebook and c.truncated


def test_updates_within_the_caps_are_applied() -> None:
    """A progress display updated in place, as tqdm and Keras do: same size, nothing truncated."""
    c = client()
    send(c, 0, "display_data", display("epoch 0", "progress"))
    for epoch in range(1, 500):
        send(c, 0, "update_display_data", display(f"epoch {epoch % 10}", "progress"))
    assert c.nb.cells[0].outputs[0].data["text/plain"] == "epoch 9" and not c.truncated


@pytest.mark.parametrize("msg_type, content", [
    ("stream", {"name": "stdout", "text": "z" * 4096}),
    ("execute_result", display("r" * 4096, msg_type="execute_result")),
    ("error", {"ename": "ValueError", "evalue": "e" * 4096, "traceback": ["t" * 4096]}),
    ("display_data", display("d" * 4096)),
])
def test_every_kind_of_output_counts(msg_type: str, content: dict) -> None:
    c = client()
    for _ in range(200):  # 200 x 4 KiB per kind, against 64 KiB a cell
        send(c, 0, msg_type, content)
    assert c.truncated and len(json.dumps(c.nb.cells[0].outputs)) < 2 * CAPS.per_cell


def test_clearing_the_output_does_not_refund_it() -> None:
    c = client()
    for _ in range(100):
        send(c, 0, "clear_output", {"wait": True})
        send(c, 0, "stream", {"name": "stdout", "text": "p" * 4096})
    assert c.truncated  # 400 KiB were sent to one cell; what it shows at the end is capped in total


def test_hidden_checks_outputs_and_display_updates_are_dropped_and_their_probes_kept() -> None:
    c = client(hidden={7: {"test_x_hidden": 2}})
    send(c, 0, "display_data", display("spy", "spy"))
    send(c, 7, "stream", {"name": "stdout", "text": "hidden input"})
    send(c, 7, "update_display_data", display("hidden input", "spy"))
    send(c, 7, "display_data", display("hidden input", "spy"))
    send(c, 7, "error", {"ename": "ValueError", "evalue": "hidden input", "traceback": []})
    send(c, 7, "clear_output", {"wait": False})
    send(c, 7, "display_data", {"data": {MIME: {"probes": [["test_x_hidden#0", "{}"], ["test_y#0", "{}"]]}},
                                "metadata": {}})
    send(c, 7, "display_data", {"data": {MIME: {"timed_out": ["test_x_hidden", "test_y"]}}, "metadata": {}})
    assert c.nb.cells[0].outputs[0].data["text/plain"] == "spy" and c.nb.cells[7].outputs == []
    assert c.probes == [(2, "test_x_hidden#0", "{}")]  # credited to the test cell it belongs to, and only those
    assert c.timed_out == [2]
    c.timeout = 60
    assert c.timeout_func(c.nb.cells[7]) == 60 and c.timeout_func(c.nb.cells[0]) == 60  # one part: the cell's
    c.nb.cells[7].metadata[HIDDEN_OF]["test_z_hidden"] = 5
    assert c.timeout_func(c.nb.cells[7]) == 120  # n parts: n times the cell timeout


def test_malformed_messages_and_comms_are_dropped() -> None:
    c = client()
    send(c, 0, "display_data", {"data": {"text/plain": "x"}, "metadata": {}, "transient": ["not", "a", "dict"]})
    send(c, 0, "comm_open", {"comm_id": "w", "target_name": "jupyter.widget", "data": {"state": {"v": MB}}})
    assert c.nb.cells[0].outputs == [] and c.widget_state == {}
    assert isinstance(c.nb.cells[0], NotebookNode)
