"""The warm fork server: each submission still gets a fresh, unprivileged, isolated kernel."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import _data_dir
from nbformat.v4 import new_code_cell, new_notebook

from autograder.runtime.execute import execute
from autograder.runtime.forkserver_client import ForkServer
from autograder.runtime.sandbox import SANDBOX_UID_BASE, Sandbox

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not Sandbox.available(),
                                reason="the fork server needs root and bubblewrap")

PROBE = '''
import os, signal, json
facts = {"uid": os.getuid(), "home": sorted(os.listdir(".")), "cwd": os.getcwd()}
facts["caps"] = [l.split()[1] for l in open("/proc/self/status") if l.startswith(("CapEff", "CapBnd", "CapPrm"))]
facts["cgroup"] = [l for l in open("/proc/self/cgroup").read().splitlines() if ":memory:" in l]
server = os.getppid()
for name, attack in [("tmp", lambda: open("/tmp/left-behind", "w")),
                     ("kill_server", lambda: os.kill(server, signal.SIGKILL)),
                     ("read_server", lambda: open(f"/proc/{server}/environ").read()),
                     ("server_mem", lambda: open(f"/proc/{server}/mem", "rb").read(1))]:
    try:
        attack()
        facts[name] = "ALLOWED"
    except OSError as exc:
        facts[name] = type(exc).__name__
open("mine.txt", "w").write("student data")
import numpy as np
facts["random"] = float(np.random.rand())
import sys
shell = get_ipython()  # the grader's kernel settings arrived (as a Config, not a command line)
facts["settings"] = [shell.history_manager.enabled, "transform_cell" in vars(shell),
                     getattr(sys.stdout.write, "_pdl_capped", False), type(shell.kernel).__name__]
# the shell was made by the server before the fork (prefork): each kernel owns a fresh copy
facts["shell"] = [shell.kernel.shell is shell, shell.parent is shell.kernel, shell.log is shell.kernel.log,
                  shell.execution_count, shell.profile_dir.location, os.path.isdir(shell.profile_dir.location),
                  shell.starting_dir, shell.home_dir, [str(d) for d in shell.user_ns["_dh"]],
                  sys.modules["__main__"] is shell.user_module,
                  "left_by_an_earlier_kernel" in globals(), sorted(k for k in shell.user_ns if not k.startswith("_"))]
facts["preforked"] = shell.kernel.shell_preforked
left_by_an_earlier_kernel = True
print("FACTS", json.dumps(facts))
'''


def facts(execution) -> dict:
    import json

    text = "".join(o.get("text", "") for c in execution.cells for o in c.get("outputs", []))
    assert "FACTS" in text, (execution.error, execution.message, text)
    return json.loads(text.split("FACTS", 1)[1])


def test_each_forked_kernel_is_fresh_unprivileged_and_cannot_touch_the_server():
    async def run() -> list[dict]:
        sandbox = Sandbox(slot=0, data_dir=Path(_data_dir()))
        server = ForkServer(sandbox, ["numpy"])
        await server.start()
        try:
            forked = [facts(await execute(new_notebook(cells=[new_code_cell(PROBE)]), sandbox, server=server,
                                          cell_timeout=30, total_timeout=60)) for _ in range(2)]
        finally:
            await server.close()
        launched = facts(await execute(new_notebook(cells=[new_code_cell(PROBE)]), sandbox,
                                       Path(tempfile.mkdtemp(prefix="pdl-test-kernel-")), cell_timeout=30,
                                       total_timeout=60))
        return [*forked, launched]

    first, second, launched = asyncio.run(run())
    for f in (first, second):
        assert f["uid"] == SANDBOX_UID_BASE and f["cwd"] == "/home/student"
        assert all(int(c, 16) == 0 for c in f["caps"]), f["caps"]  # no capabilities, bounding set empty
        assert f["tmp"] == "PermissionError"  # /tmp is shared by the slot, so closed to kernels
        assert f["kill_server"] == "PermissionError"
        assert f["read_server"] in ("PermissionError", "FileNotFoundError")
        assert f["server_mem"] in ("PermissionError", "FileNotFoundError")
    assert "mine.txt" not in second["home"]  # a private home per kernel: nothing of the previous one
    # no history, KERNEL_SETUP installed, the kernel class that publishes only what the grader reads
    assert first["settings"] == second["settings"] == [False, True, True, "GradingKernel"]
    # each kernel's shell is attached to it, counts its cells, and its namespace holds only what IPython
    # puts there before a student's first cell: nothing that an earlier kernel of the slot defined
    # (as in a launched kernel, which builds its shell itself)
    for f in (first, second):
        attached, parent, log, count, profile, exists, start, home, dh, main, left, names = f["shell"]
        assert attached and parent and log and main and left is False, f["shell"]
        assert profile == "/home/student/.ipython/profile_default" and exists, f["shell"]
        assert start == home == "/home/student" and dh == ["/home/student"], f["shell"]
        assert f["shell"] == launched["shell"], (f["shell"], launched["shell"])
        assert f["preforked"] is True  # made once by the server (GradingKernelApp.prefork), not per kernel
    assert launched["preforked"] is False
    assert "left_by_an_earlier_kernel" not in second["shell"][-1]
    assert first["random"] != second["random"]  # reseeded after the fork, as a fresh process is
    if first["cgroup"]:  # hosts with a memory cgroup: one per kernel
        assert first["cgroup"] != second["cgroup"]


def test_a_prefork_that_leaves_threads_or_files_is_refused(tmp_path):
    """With history on, IPython's shell would open its database and start a thread in the server:
    every forked kernel would inherit them broken, so the server refuses (and the slot launches kernels)."""
    code = ("import sys; sys.path.insert(0, 'autograder/runtime'); import forkserver\n"
            "forkserver.prepare_app({'app': 'pdl.kernel.grading_kernel.GradingKernelApp',\n"
            "                        'config': {'HistoryManager': {'enabled': %s}}})\n")
    for enabled, fails in (("False", False), ("True", True)):
        proc = subprocess.run([sys.executable, "-c", code % enabled], cwd=Path(__file__).parents[1],
                              env={**os.environ, "HOME": str(tmp_path)}, capture_output=True, text=True, timeout=120)
        assert (proc.returncode != 0) is fails, proc.stderr[-2000:]
        if fails:
            assert "prefork left threads or files open" in proc.stderr, proc.stderr[-2000:]
