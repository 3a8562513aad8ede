"""Issue 5's attack suite: real notebooks that try to cheat or break the grader, graded in one batch.

Each attacker submits ex01 with an attack cell. Every attack must fail, the attacker's
grade must be what their honest work earns, and the rest of the class is unaffected.
"""
from __future__ import annotations

import ast
import json
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, pdl_grade, scores, solution_path, solved_student_version, write_class
from nbformat.v4 import new_code_cell
from nbformat.validator import isvalid
from nbgrader.api import Gradebook


NAME = "ex01_logistic_regression"
FULL = 14.0  # every autograded point of ex01; the written answer waits for a human
WRONG_SIGMOID = {"sigmoid": "def sigmoid(z):\n    return 1 / (1 + np.exp(z))\n"}
WRONG_SCORE = 9.0  # what the wrong sigmoid earns honestly (see test_grade_ex01)


class Listener:
    """A TCP server on the host's loopback that records every connection."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
                self.connections += 1
                conn.close()
            except OSError:
                pass

    def close(self):
        self.stop.set()
        self.thread.join()
        self.sock.close()


def with_cells(nb, *sources, at_end=True):
    cells = [new_code_cell(s) for s in sources]
    if at_end:
        nb.cells.extend(cells)
    else:  # after the title and the install cell, before the setup cell and any test
        nb.cells[2:2] = cells
    return nb


@pytest.fixture(scope="module")
def attack(tmp_path_factory):
    listener = Listener()
    folder = tmp_path_factory.mktemp("class")
    out = tmp_path_factory.mktemp("out")
    secrets = [str(solution_path(NAME)), str(out / "gradebook.db"), str(folder / "honest" / f"{NAME}.ipynb"),
               str(ROOT / "solutions"), "/etc/shadow", "/root/.bash_history"]
    notebooks = {
        "honest": solved_student_version(NAME),
        "reads_files": with_cells(solved_student_version(NAME), f"""
import os
for path in {secrets!r}:
    try:
        with open(path, 'rb') as f:
            print('READ', path, f.read(40))
    except OSError as e:
        print('DENIED', path, type(e).__name__)
print('LISTING', sorted(os.listdir('/')))
"""),
        "tcp_out": with_cells(solved_student_version(NAME), f"""
import socket
for host in ('127.0.0.1', 'localhost', '10.0.2.2'):
    s = socket.socket(); s.settimeout(2)
    try:
        s.connect((host, {listener.port})); print('CONNECTED', host)
    except OSError as e:
        print('NO NETWORK', host, type(e).__name__)
"""),
        "writes_gradebook": with_cells(solved_student_version(NAME), f"""
import sqlite3
for path in {[str(out / "gradebook.db"), str(out / "grades.csv")]!r}:
    try:
        open(path, 'a').write('x'); print('WROTE', path)
    except OSError as e:
        print('DENIED', path, type(e).__name__)
try:
    db = sqlite3.connect({str(out / "gradebook.db")!r}); db.execute('update grade set manual_score = 99'); db.commit()
    print('UPDATED')
except Exception as e:
    print('DENIED sqlite', type(e).__name__)
"""),
        "swallows_errors": with_cells(solved_student_version(NAME, WRONG_SIGMOID),
                                      "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)",
                                      at_end=False),
        "hooks_cells": with_cells(solved_student_version(NAME, WRONG_SIGMOID), """
seen = []
get_ipython().events.register('pre_run_cell', lambda info: seen.append(info.raw_cell))
""", at_end=False),
        "monkeypatches": with_cells(solved_student_version(NAME, WRONG_SIGMOID), """
import builtins, numpy, pdl.checks
pdl.checks.check = lambda *a, **k: None
numpy.allclose = lambda *a, **k: True
numpy.testing.assert_allclose = lambda *a, **k: None
builtins.AssertionError = type('Nope', (Exception,), {})
""", at_end=False),
        "env_snoop": with_cells(solved_student_version(NAME), "import os; print('ENV', sorted(os.environ))"),
        "fork_bomb": with_cells(solved_student_version(NAME), """
import os, time
children = 0
for i in range(5000):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        try:
            os.execv("/bin/sleep", ["sleep", "3600.4242"])  # a name the test can look for afterwards
        finally:
            os._exit(0)
    children += 1
print('CHILDREN', children)
"""),
        "memory_30gb": with_cells(solved_student_version(NAME), "big = np.ones(30 * 2**30 // 8)"),
        "fills_disk": with_cells(solved_student_version(NAME), """
import os
for path in ('/home/student/big', '/tmp/big'):
    try:
        with open(path, 'wb') as f:
            for _ in range(1024):
                f.write(b'x' * 2**20)
        print('WROTE 1 GiB', path)
    except OSError as e:
        print('FULL', path, type(e).__name__)
"""),
        "infinite_loop": with_cells(solved_student_version(NAME), "while True:\n    pass", at_end=False),
        "memory_touch": with_cells(solved_student_version(NAME), """
chunks = []
while True:
    chunks.append(bytearray(256 * 2**20))
"""),
        "kills_parent": with_cells(solved_student_version(NAME), "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill(-1, signal.SIGKILL)"),
        "ignores_interrupts": with_cells(solved_student_version(NAME), """
import time
while True:
    try:
        time.sleep(1)
    except KeyboardInterrupt:
        pass
""", at_end=False),
    }
    # the hook attack prints what it saw at the very end
    notebooks["hooks_cells"].cells.append(new_code_cell("print('SEEN', repr(seen))"))
    write_class(folder, NAME, notebooks)
    try:
        # 1.5 GiB per kernel: reached in ~2 s even where first-touch page faults are slow (VMs)
        pdl_grade("grade", NAME, str(folder), "--out", str(out), "--workers", "2", "--memory", "1536",
                  "--timeout", "15", "--notebook-timeout", "45")
    finally:
        listener.close()
    return out, listener


def outputs(out: Path, student: str) -> str:
    nb = nbformat.read(out / "autograded" / student / NAME / f"{NAME}.ipynb", as_version=4)
    return json.dumps([c.get("outputs", []) for c in nb.cells if c.cell_type == "code"])


def test_every_student_gets_a_row(attack):
    out, _ = attack
    assert set(scores(out)) >= {"honest", "reads_files", "tcp_out", "fork_bomb", "kills_parent", "ignores_interrupts"}
    assert scores(out)["honest"] == (FULL, 16.0, "graded")


def test_every_student_gets_feedback_and_a_valid_graded_notebook(attack):
    """Broken runs too (timeouts, dead kernels, capped output): the feedback renders them unvalidated."""
    out, _ = attack
    for student in scores(out):
        assert (out / "feedback" / student / f"{NAME}.html").is_file(), student
        graded = out / "autograded" / student / NAME / f"{NAME}.ipynb"
        if graded.is_file():
            assert isvalid(json.loads(graded.read_text())), student


def test_cannot_read_hidden_tests_solutions_gradebook_or_other_students(attack):
    out, _ = attack
    text = outputs(out, "reads_files")
    assert "READ" not in text and text.count("DENIED") == 6
    listing = set(ast.literal_eval(text.split("LISTING ", 1)[1].split("\n", 1)[0].split("]", 1)[0] + "]"))
    # the system folders, and the first folder of the paths that are bound in (python, venv, runtime dir)
    bound = {Path(p).resolve().parts[1] for p in (sys.prefix, sys.base_prefix, tempfile.gettempdir())}
    assert listing <= {"bin", "dev", "etc", "home", "lib", "lib64", "opt", "proc", "sbin", "tmp", "usr"} | bound, listing
    assert scores(out)["reads_files"][0] == FULL


def test_no_network_even_to_the_hosts_loopback(attack):
    out, listener = attack
    assert listener.connections == 0
    assert "CONNECTED" not in outputs(out, "tcp_out") and outputs(out, "tcp_out").count("NO NETWORK") == 3
    assert scores(out)["tcp_out"][0] == FULL


def test_cannot_write_the_gradebook(attack):
    out, _ = attack
    text = outputs(out, "writes_gradebook")
    assert "WROTE" not in text and "UPDATED" not in text
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        assert all((g.manual_score or 0) != 99 for g in gb.find_submission(NAME, "honest").notebooks[0].grades)
    assert scores(out)["writes_gradebook"][0] == FULL


@pytest.mark.parametrize("student", ["swallows_errors", "hooks_cells", "monkeypatches"])
def test_in_kernel_tricks_cannot_forge_a_verdict(attack, student):
    out, _ = attack
    assert scores(out)[student][0] == WRONG_SCORE


def test_hooks_never_see_hidden_expectations(attack):
    out, _ = attack
    seen = outputs(out, "hooks_cells")
    assert "SEEN" in seen and "__pdl_emit__" in seen  # the hook did run on the test cells
    for secret in ("6e-4", "close_to", "BEGIN HIDDEN", "warns=", "expit(grid)"):  # hidden expectations
        assert secret not in seen


def test_kernel_sees_no_grader_environment(attack):
    out, _ = attack
    text = outputs(out, "env_snoop")
    assert "ENV" in text and "NBGRADER" not in text and "PDL_DATA_DIR" in text


def test_fork_bomb_is_contained_and_cleaned_up(attack):
    out, _ = attack
    text = outputs(out, "fork_bomb")
    assert "CHILDREN" in text and "CHILDREN 5000" not in text
    assert scores(out)["fork_bomb"][0] == FULL
    # the bomb's processes, not just any sandbox uid: other graders may be running on this machine
    left = subprocess.run(["ps", "-ww", "-e", "-o", "uid=,args="], capture_output=True, text=True).stdout.splitlines()
    assert not [line for line in left if "3600.4242" in line], "the fork bomb's processes outlived the grader"


def test_huge_allocations_fail_inside_the_sandbox(attack):
    out, _ = attack
    assert "MemoryError" in outputs(out, "memory_30gb")
    assert scores(out)["memory_30gb"][0] == FULL
    score, _, status = scores(out)["memory_touch"]
    assert status == "kernel_died" and score == 0  # a notebook that crashes its kernel scores 0, as in nbgrader
    assert "MiB of memory and was killed" in result(out, "memory_touch")["message"]


def test_disk_is_capped(attack):
    out, _ = attack
    text = outputs(out, "fills_disk")
    assert "WROTE" not in text and text.count("FULL") == 2
    assert scores(out)["fills_disk"][0] == FULL


def result(out: Path, student: str) -> dict:
    (path,) = (out / "results" / NAME / student).glob("*.json")
    return json.loads(path.read_text())


def test_infinite_loop_is_interrupted_and_grading_goes_on(attack):
    out, _ = attack
    assert "KeyboardInterrupt" in outputs(out, "infinite_loop")
    assert "ran longer than 15 s and was interrupted" in result(out, "infinite_loop")["message"]
    assert scores(out)["infinite_loop"] == (FULL, 16.0, "graded")
    # the timed-out cell counts in the code's own time (from the request it was sent to the timeout)
    assert result(out, "infinite_loop")["compute_seconds"] >= 15


def test_killing_the_parent_is_impossible(attack):
    """The kernel's parent is the sandbox's pid 1, which ignores signals from inside; the grader is invisible."""
    out, _ = attack
    assert scores(out)["kills_parent"] == (FULL, 16.0, "graded")
    assert scores(out)["honest"] == (FULL, 16.0, "graded")


def test_a_kernel_that_ignores_interrupts_is_stopped(attack):
    out, _ = attack
    score, _, status = scores(out)["ignores_interrupts"]
    assert status == "timeout" and score == 0  # it blocked every test cell after it
    assert "longer than 45 s" in result(out, "ignores_interrupts")["message"]
