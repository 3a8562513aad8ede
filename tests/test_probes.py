"""The kernel half of a test cell: runs of checks become one probe message, and nothing is lost.

These run the planned kernel source in plain Python with IPython's ``display`` captured,
so they check the grouping itself; the graded end-to-end behaviour is in test_exercises
and test_attacks.
"""
from __future__ import annotations

import IPython.display
import pytest
from IPython.core.interactiveshell import InteractiveShell

import pdl.kernel.probe
import pdl.kernel.transform_memo
from autograder.plans import EMIT, plan_test_cell
from pdl.kernel.probe import MIME, decode_outcome

CELL = """\
x = 2
check(x + 1, close_to=3)
check(x * 2, close_to=4)
y = 1 / (x - 2)
check(y, close_to=0)
"""


@pytest.fixture
def shown(monkeypatch) -> list[dict]:
    messages: list[dict] = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: messages.append(obj[MIME]))
    return messages


def run_kernel_half(source: str) -> BaseException | None:
    try:
        exec(compile(source, "<test cell>", "exec"), {})  # noqa: S102 (the instructor's planned source)
    except Exception as exc:  # noqa: BLE001 (the cell's own error, as a kernel would show it)
        return exc
    return None


def outcomes(messages: list[dict]) -> dict[str, object]:
    return {probe_id: decode_outcome(text).value for message in messages for probe_id, text in message["probes"]}


def test_a_run_of_checks_is_one_message_sent_before_the_next_statement(shown):
    plan = plan_test_cell(CELL, "test_x")
    assert plan.kernel_source.count(f"{EMIT}(") == 2  # checks 0-1 together, check 2 alone
    error = run_kernel_half(plan.kernel_source)
    assert isinstance(error, ZeroDivisionError)
    # the statement that raised came after the first run: its two outcomes had already been sent
    assert len(shown) == 1
    assert outcomes(shown) == {"test_x#0": 3, "test_x#1": 4}


def test_every_outcome_arrives_once_when_nothing_raises(shown):
    plan = plan_test_cell(CELL.replace("1 / (x - 2)", "0"), "test_x")
    assert run_kernel_half(plan.kernel_source) is None
    assert len(shown) == 2
    assert outcomes(shown) == {"test_x#0": 3, "test_x#1": 4, "test_x#2": 0}


def test_a_batch_is_split_past_the_size_cap(shown, monkeypatch):
    monkeypatch.setattr(pdl.kernel.probe, "MAX_BYTES", 200)
    pdl.kernel.probe.emit_all([(f"t#{i}", lambda i=i: "x" * 60 + str(i)) for i in range(6)])
    assert len(shown) > 1
    assert all(sum(len(text) for _, text in m["probes"]) <= 200 for m in shown)
    assert [probe_id for m in shown for probe_id, _ in m["probes"]] == [f"t#{i}" for i in range(6)]


def test_transform_memo_transforms_a_source_once():
    shell = InteractiveShell.instance()
    calls: list[str] = []
    original = shell.transform_cell

    def counting(raw_cell: str) -> str:
        calls.append(raw_cell)
        return original(raw_cell)

    shell.transform_cell = counting
    try:
        pdl.kernel.transform_memo.install()
        memo = shell.transform_cell
        assert memo("%time x = 1\n") == memo("%time x = 1\n") == original("%time x = 1\n")
        assert memo("y = 2\n") == "y = 2\n"
        assert calls == ["%time x = 1\n", "y = 2\n"]
    finally:
        InteractiveShell.clear_instance()


def test_a_hidden_part_runs_in_a_namespace_of_its_own_with_the_names_of_its_place():
    """Issue 22 item 1: the hidden setup's names never land in the student's namespace; the checks see the
    student's functions as they stood where the test cell is, even if a later cell rebinds them."""
    shell = InteractiveShell.instance()
    try:
        seen: list[int] = []
        shell.user_ns.update(f=lambda x: x + 1, seen=seen)
        pdl.kernel.probe.snapshot("test_f_hidden")
        shell.user_ns["f"] = lambda x: -1  # a later cell of the student's
        pdl.kernel.probe.run_hidden("test_f_hidden", "secret_input = 41\nseen.append(f(secret_input))\n")
        assert seen == [42]
        assert "secret_input" not in shell.user_ns
        pdl.kernel.probe.run_hidden("test_g_hidden", "seen.append(f(0))\n")  # no snapshot: the names now
        assert seen == [42, -1]
    finally:
        InteractiveShell.clear_instance()


def test_hidden_parts_run_one_after_another_each_with_its_own_time(shown):
    """One cell runs every hidden part: one that loops is stopped at its limit, one that raises stops alone,
    and the next parts still run; the grader is told which part ran out of time."""
    shell = InteractiveShell.instance()
    try:
        seen: list[str] = []
        shell.user_ns["seen"] = seen
        pdl.kernel.probe.run_hidden_all([("test_a_hidden", "while True:\n    pass\n"),
                                         ("test_b_hidden", "seen.append('b')\n1 / 0\nseen.append('never')\n"),
                                         ("test_c_hidden", "seen.append('c')\n")], 1)
        assert seen == ["b", "c"]
        assert shown == [{"timed_out": ["test_a_hidden"]}]
    finally:
        InteractiveShell.clear_instance()
