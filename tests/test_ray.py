"""Issue 6: the Ray backend grades like the local one, on a real (one-machine) Ray cluster.

The test starts its own head node (`ray start --head --block` in a new session) and
grades through the real command line (`pdl-grade grade --backend ray --address`). Its
teardown stops that session and checks with `ps` that no Ray process is left.
"""
from __future__ import annotations

import os
import pickle
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import BIN, exercise_path, pdl_grade, read_csv, read_nb, solved_student_version, write_class
from nbformat.v4 import new_code_cell

pytest.importorskip("ray")

from autograder.backends import ray as ray_backend
from autograder.model import Status
from autograder.runtime.execute import Execution

NAME = "ex01_logistic_regression"
SLEEP = 4  # seconds each notebook of the kill test spends in its sandbox, so that a kill lands mid-task


def _class_notebooks() -> dict:
    dies = solved_student_version(NAME)
    dies.cells.insert(2, new_code_cell("import os\nos._exit(3)"))
    return {
        "good": solved_student_version(NAME),
        "blank": read_nb(exercise_path(NAME)),
        "sigmoid_no_minus": solved_student_version(NAME, {"sigmoid": "def sigmoid(z):\n    return 1 / (1 + np.exp(z))\n"}),
        "kernel_dies": dies,
    }


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _processes() -> list[tuple[int, int, int, str]]:
    """(pid, ppid, session id, command line) of every process."""
    out = subprocess.run(["ps", "-ww", "-eo", "pid=,ppid=,sid=,args="], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4:
            rows.append((int(parts[0]), int(parts[1]), int(parts[2]), parts[3]))
    return rows


RAY_SANDBOX = re.compile(rf"pdl-slot{ray_backend.SLOT_BASE // 100}\d\d-|pdl-ray-run-")  # Ray slots' sandboxes


def _session_left(sid: int, temp_dir: str) -> list[str]:
    """The cluster's processes, and sandboxes of Ray slots (fork servers run in sessions of their own)."""
    return [f"{pid} {args[:120]}" for pid, _, s, args in _processes()
            if s == sid or temp_dir in args or RAY_SANDBOX.search(args)]


def _start_head(temp_dir: str) -> tuple[subprocess.Popen, str]:
    """`ray start --head --block` in a session of its own; returns once its node is up (else no address)."""
    port, client, agent, agent_grpc, env_agent, metrics, dashboard, node_mgr, obj_mgr = _free_ports(9)
    cmd = [str(BIN / "ray"), "start", "--head", "--block", "--num-cpus", "2", "--num-gpus", "0",
           "--port", str(port), "--ray-client-server-port", str(client),
           "--dashboard-agent-listen-port", str(agent), "--dashboard-agent-grpc-port", str(agent_grpc),
           "--runtime-env-agent-port", str(env_agent), "--metrics-export-port", str(metrics),
           "--dashboard-port", str(dashboard), "--node-manager-port", str(node_mgr),
           "--object-manager-port", str(obj_mgr), "--include-dashboard", "false",
           "--object-store-memory", str(200 * 2**20), "--disable-usage-stats", "--temp-dir", temp_dir]
    env = dict(os.environ, RAY_AUTH_MODE="token")  # the token comes from the fixture's RAY_AUTH_TOKEN
    with open(Path(temp_dir) / "start.log", "w") as log:
        head = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    # Ray 2.60's raylet gives its dashboard agent a fixed 15 s to start and aborts after that. On a machine
    # busy with other sessions (the kernel shares CPU fairly between sessions: sched autogroup) the agent's
    # imports alone can take longer, so the new session runs at a higher priority until the node is up.
    _autogroup_nice(head.pid, -10)
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while head.poll() is None and time.monotonic() < deadline:
            if "will now block forever" in (Path(temp_dir) / "start.log").read_text():  # its node has registered
                return head, address
            time.sleep(0.5)
        return head, ""
    finally:
        _autogroup_nice(head.pid, 0)


def _autogroup_nice(pid: int, nice: int) -> None:
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))
    except OSError:  # no autogroups on this kernel, or not allowed: run as is
        pass


def _stop_head(head: subprocess.Popen, temp_dir: str) -> list[str]:
    """Stop the head's whole session; what is still running after that (should be nothing)."""
    head.send_signal(signal.SIGTERM)  # ray start --block stops its own processes on SIGTERM
    try:
        head.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.monotonic() + 10
    while _session_left(head.pid, temp_dir) and time.monotonic() < deadline:
        time.sleep(0.5)
    for line in _session_left(head.pid, temp_dir):  # whatever outlived the stop
        try:
            os.kill(int(line.split()[0]), signal.SIGKILL)
        except ProcessLookupError:
            pass
    time.sleep(0.5)
    return _session_left(head.pid, temp_dir)


@pytest.fixture(scope="module")
def cluster():
    """A one-node Ray cluster with 2 CPUs, all of it in one session that teardown stops."""
    temp_dir = tempfile.mkdtemp(prefix="pdl-ray-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    leaked: list[str] = []
    # Token authentication, as the README advises; pdl-grade finds the token in its environment
    # (RAY_AUTH_MODE unset), as it would find ~/.ray/auth_token.
    saved = os.environ.get("RAY_AUTH_TOKEN")
    os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    try:
        for _ in range(2):  # see _start_head: a very busy machine can still miss Ray's start-up deadline
            head, address = _start_head(temp_dir)
            if address:
                break
            leaked += _stop_head(head, temp_dir)
        else:
            raise RuntimeError(f"ray start failed:\n{(Path(temp_dir) / 'start.log').read_text()[-3000:]}")
        yield address
    finally:
        leaked += _stop_head(head, temp_dir)
        subprocess.run(["rm", "-rf", temp_dir], check=False)
        if saved is None:
            os.environ.pop("RAY_AUTH_TOKEN", None)
        else:
            os.environ["RAY_AUTH_TOKEN"] = saved
    assert not leaked, f"Ray processes outlived the test cluster: {leaked}"


@pytest.fixture(scope="module")
def local_grades(tmp_path_factory):
    folder = write_class(tmp_path_factory.mktemp("class"), NAME, _class_notebooks())
    out = tmp_path_factory.mktemp("local")
    pdl_grade("grade", NAME, str(folder), "--out", str(out), "--workers", "2", "--timeout", "30")
    return folder, out


def _rows(path: Path) -> list[dict[str, str]]:
    return sorted(read_csv(path), key=lambda r: tuple(r.values()))


def test_ray_matches_local_backend(cluster, local_grades, tmp_path):
    folder, local_out = local_grades
    out = tmp_path / "ray"
    pdl_grade("grade", NAME, str(folder), "--out", str(out), "--backend", "ray", "--address", cluster,
              "--timeout", "30")
    assert _rows(out / "grades.csv") == _rows(local_out / "grades.csv")
    assert _rows(out / "grades_long.csv") == _rows(local_out / "grades_long.csv")
    statuses = {r["student_id"]: r["status"] for r in read_csv(out / "grades.csv")}
    assert statuses["kernel_dies"] == "kernel_died" and statuses["good"] == "graded"


def _ray_workers_running_a_kernel() -> dict[int, list[int]]:
    """Ray worker pid -> its descendants, for each worker that is running a student kernel right now.

    A kernel is an ipykernel process (launched) or a child of a fork server (forked, same command line).
    """
    procs = {pid: (ppid, args) for pid, ppid, _, args in _processes()}

    def is_kernel(pid: int) -> bool:
        ppid, args = procs[pid]
        return "ipykernel" in args or ("forkserver.py" in args and "forkserver.py" in procs.get(ppid, (0, ""))[1])

    def is_worker(pid: int) -> bool:
        return "default_worker.py" in procs[pid][1] or procs[pid][1].startswith("ray::")

    found: dict[int, list[int]] = {}
    for pid in procs:
        if not is_kernel(pid):
            continue
        ancestor = procs[pid][0]
        while ancestor in procs and not is_worker(ancestor):
            ancestor = procs[ancestor][0]
        if ancestor in procs:
            found[ancestor] = [p for p in procs if _descends(p, ancestor, procs)]
    return found


def _descends(pid: int, ancestor: int, procs: dict) -> bool:
    while pid in procs and pid != ancestor:
        pid = procs[pid][0]
    return pid == ancestor


def test_worker_killed_mid_batch_is_retried(cluster, local_grades, tmp_path):
    _, local_out = local_grades
    notebooks = _class_notebooks()
    for nb in notebooks.values():  # a pause that grades nothing, so that a kill finds each task busy
        nb.cells.insert(2, new_code_cell(f"import time\ntime.sleep({SLEEP})"))
    folder = write_class(tmp_path / "class", NAME, notebooks)
    out = tmp_path / "ray"
    grader = subprocess.Popen([str(BIN / "pdl-grade"), "grade", NAME, str(folder), "--out", str(out),
                               "--backend", "ray", "--address", cluster, "--timeout", "30", "--quiet"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed, below = None, []
    deadline = time.monotonic() + 120
    while killed is None and grader.poll() is None and time.monotonic() < deadline:
        busy = _ray_workers_running_a_kernel()
        if busy:  # kill the worker while its kernel runs the notebook
            worker, below = next(iter(busy.items()))
            os.kill(worker, signal.SIGKILL)
            killed = worker
            break
        time.sleep(0.2)
    _, stderr = grader.communicate(timeout=600)
    assert killed is not None, f"no Ray worker was seen running a sandbox (grader exit {grader.returncode}): {stderr[-3000:]}"
    assert grader.returncode == 0, stderr[-3000:]
    assert _rows(out / "grades.csv") == _rows(local_out / "grades.csv")
    assert _rows(out / "grades_long.csv") == _rows(local_out / "grades_long.csv")
    for student in notebooks:  # one result each, no half-written file
        assert [p.suffix for p in (out / "results" / NAME / student).iterdir()] == [".json"], student
    time.sleep(1)
    assert not [pid for pid in below if Path(f"/proc/{pid}").exists()], "the killed worker's sandbox outlived it"


def test_gpu_request():
    assert ray_backend.gpu_request("auto", {"CPU": 8.0, "GPU": 2.0}) == ray_backend.GPU_SHARE
    assert ray_backend.gpu_request("off", {"CPU": 8.0, "GPU": 2.0}) == 0
    assert ray_backend.gpu_request("auto", {"CPU": 8.0}) == 0


def test_task_binds_only_the_gpu_ray_gave_it(tmp_path):
    """A node with two GPUs (device files faked): a task binds the one in CUDA_VISIBLE_DEVICES, none without."""
    for name in ("nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm"):
        (tmp_path / name).write_text("")
    given = ray_backend.task_gpu_devices("auto", {"CUDA_VISIBLE_DEVICES": "1"}, tmp_path)
    assert given == [str(tmp_path / "nvidia1"), str(tmp_path / "nvidiactl"), str(tmp_path / "nvidia-uvm")]
    assert ray_backend.task_gpu_devices("off", {"CUDA_VISIBLE_DEVICES": "1"}, tmp_path) == []
    assert ray_backend.task_gpu_devices("auto", {"CUDA_VISIBLE_DEVICES": ""}, tmp_path) == []  # num_gpus=0
    assert ray_backend.task_gpu_devices("auto", {}, tmp_path) == []


def test_worker_data_dir(tmp_path, monkeypatch):
    from pdl import data

    assert ray_backend.worker_data_dir(tmp_path) == tmp_path  # the driver's path exists on this node
    own = tmp_path / "node-data"
    own.mkdir()
    (own / data.FILENAME).write_text("")
    monkeypatch.setenv("PDL_DATA_DIR", str(own))  # this node's own data, where the driver's path is missing
    assert ray_backend.worker_data_dir(tmp_path / "only-on-the-driver") == own


def test_slots_are_exclusive_per_node(tmp_path):
    a, hold_a = ray_backend.take_slot(tmp_path, base=5, count=2)
    b, hold_b = ray_backend.take_slot(tmp_path, base=5, count=2)
    assert {a, b} == {5, 6}
    with pytest.raises(RuntimeError):
        ray_backend.take_slot(tmp_path, base=5, count=2)
    # another process (a second worker on the node) sees the locks too, and gets a slot once one is free
    probe = ("from pathlib import Path; from autograder.backends import ray as r\n"
             f"print(r.take_slot(Path({str(tmp_path)!r}), base=5, count=2)[0])")
    hold_b.close()
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == str(b)
    hold_a.close()


def test_execution_round_trip():
    """What a task returns is plain data that pickles, and comes back as the driver's Execution."""
    import nbformat
    from nbformat.v4 import new_output

    cell = new_code_cell("x = 1")
    cell.outputs = [new_output("stream", name="stdout", text="1\n")]
    execution = Execution(cells=[cell], probes=[(0, "test_x#0", '{"v": 1}')], error=Status.TIMEOUT, message="m",
                          seconds=1.5)
    plain = ray_backend.to_plain(execution)
    assert not isinstance(plain["cells"][0], nbformat.NotebookNode)
    assert type(plain["error"]) is str and plain["error"] == Status.TIMEOUT.value  # no enum on the wire
    back = ray_backend.to_execution(pickle.loads(pickle.dumps(plain)))
    assert back.cells == execution.cells and isinstance(back.cells[0].outputs[0], nbformat.NotebookNode)
    assert back.probes == execution.probes and back.error is Status.TIMEOUT and back.seconds == 1.5
    for error in [None, *Status]:  # every status a backend may report, and none, comes back as itself
        again = ray_backend.to_execution(pickle.loads(pickle.dumps(ray_backend.to_plain(Execution([], error=error)))))
        assert again.error is error


def test_unreachable_cluster_is_an_instructor_error(tmp_path):
    """A wrong --address stops before anything is graded, with a message, instead of Ray's minutes of retries."""
    folder = write_class(tmp_path / "class", NAME, {"good": solved_student_version(NAME)})
    port = _free_ports(1)[0]
    proc = pdl_grade("grade", NAME, str(folder), "--out", str(tmp_path / "out"), "--backend", "ray",
                     "--address", f"127.0.0.1:{port}", check=False, timeout=120)
    assert proc.returncode == 2 and "cannot reach the Ray cluster" in proc.stderr
    assert not list((tmp_path / "out" / "results").rglob("*.json"))
