"""Issue 22 items 1, 2, 5, 7: what a hostile student can learn or break through outputs and probe values.

One ex01 class, graded once: an honest student and attackers who try to read the hidden tests' source and inputs
from later cells (IPython's history, linecache, leftover globals, arguments their own functions recorded, display
updates of an earlier output), to carry hidden inputs out in the hidden checks' own messages (exception text,
warnings, type names), to flood the feedback through display updates, and to send a probe value the grader cannot
decode. Each attack must fail, and each attacker's grade must be what their work earns.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from conftest import pdl_grade, scores, solved_student_version, write_class
from nbformat.v4 import new_code_cell

NAME = "ex01_logistic_regression"
FULL = 14.0
SIGMOID = """def sigmoid(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
"""
# the hidden tests' setup and inputs (solutions/ex01): none of it may reach anything the student is shown
HIDDEN_MARKS = ("709.", "-710.", "reference_logit", "-30.,", "linspace(-30", "1.e-06", "1e-06", "0.7, -1.3",
                "expit(grid)", "BEGIN HIDDEN", "[-3.0, 0.5", "1.e+04", "-3. ,  0.5")


def _sigmoid_spy() -> str:
    """A right sigmoid that records, prints and displays every argument it is called with."""
    return """from IPython.display import display, update_display
seen_args = []
display({"text/plain": "spy"}, raw=True, display_id="spy")
def sigmoid(z):
    seen_args.append(repr(z))
    print("ARG", repr(z))
    update_display({"text/plain": "UPDATED " + repr(z)}, raw=True, display_id="spy")
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
"""


READ_BACK = """import linecache
print("IN", In)
print("CACHE", ["".join(entry[2]) for entry in linecache.cache.values() if len(entry) > 2])
print("GLOBALS", {k: repr(v) for k, v in globals().items() if k in ("grid", "ps", "x1", "x2", "reference" + "_logit", "expit")})
print("SEEN", seen_args)
"""

LEAKY = {
    "sigmoid": """import warnings
def sigmoid(z):
    z = np.asarray(z, dtype=float)
    if z.size == 5:
        warnings.warn(f"W{z.tolist()}", RuntimeWarning)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
""",
    "logit": """def logit(p):
    p = np.asarray(p, dtype=float)
    if p.shape == (2, 3):
        raise RuntimeError(f"saw {p.tolist()}")
    if p.size == 9:
        return type(f"T{p.round(3).tolist()}", (), {})()
    return np.log(p) - np.log1p(-p)
""",
    "predict_prob": """def predict_prob(x1, x2, w1, w2, b):
    if np.size(x1) == 4:
        raise type("ZeroDivisionError", (Exception,), {})(f"{np.asarray(x1).tolist()}")
    return sigmoid(w1 * np.asarray(x1, dtype=float) + w2 * np.asarray(x2, dtype=float) + b)
""",
    "boundary_at": """def boundary_at(p, b0, b1, b2):
    if p == 0.9:
        raise TypeError(f"p={p} b={b0},{b1},{b2}")
    if b2 == 0:
        raise ValueError("b2 == 0")
    return ((float(logit(p)) - b0) / b2, -b1 / b2)
""",
}
LEAKED = ("saw [[", "W[-10000", "T[", "[-3.0, 0.5", "p=0.9", "UnsupportedValue")

FORGED_PROBE = {"logit": """from IPython.display import display
def logit(p):
    # a value for the first check of the public test cell, in an encoding the grader's decoder cannot read
    display({"application/vnd.pdl.kernel.probe+json": {"probes": [["test_logit#0", '{"value": {"__float__": [1]}}']]}},
            raw=True)
    p = np.asarray(p, dtype=float)
    return np.log(p) - np.log1p(-p)
"""}

FLOOD = """from IPython.display import display, update_display
display({"text/plain": "x"}, raw=True, display_id="big")
for i in range(6):
    update_display({"text/plain": str(i) * (6 * 2**20)}, raw=True, display_id="big")
"""
SMALL = 'from IPython.display import display\ndisplay({"text/plain": "x"}, raw=True, display_id="many")\n'
MANY = 'update_display({"text/plain": "y" * (3 * 2**20 // 2)}, raw=True, display_id="many")\n'


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("class")
    out = tmp_path_factory.mktemp("out")
    spy = solved_student_version(NAME, {"sigmoid": _sigmoid_spy()})
    spy.cells.append(new_code_cell(READ_BACK))
    flood = solved_student_version(NAME)
    flood.cells.append(new_code_cell(FLOOD))
    flood.cells.extend(new_code_cell(SMALL) for _ in range(6))
    flood.cells.append(new_code_cell(MANY))
    notebooks = {
        "honest": solved_student_version(NAME),
        "reads_later": spy,
        "leaky_messages": solved_student_version(NAME, LEAKY),
        "forged_probe": solved_student_version(NAME, FORGED_PROBE),
        "display_flood": flood,
    }
    write_class(folder, NAME, notebooks)
    pdl_grade("grade", NAME, str(folder), "--out", str(out), "--workers", "2")
    return out


def _result(out: Path, student: str) -> dict:
    (path,) = (out / "results" / NAME / student).glob("*.json")
    return json.loads(path.read_text())


def _shown(out: Path, student: str) -> str:
    """Everything the student is shown or that is kept for them: graded notebook, feedback page, stored result."""
    nb = (out / "autograded" / student / NAME / f"{NAME}.ipynb").read_text()
    page = re.sub(r"<style.*?</style>", "", (out / "feedback" / student / f"{NAME}.html").read_text(), flags=re.S)
    return "\n".join([nb, page, json.dumps(_result(out, student))])


def _public(out: Path, student: str) -> dict[str, list[str]]:
    return {c["grade_id"]: c["public_messages"] for c in _result(out, student)["cells"]}


def test_the_honest_student_gets_full_marks(graded):
    assert scores(graded)["honest"] == (FULL, 16.0, "graded")


def test_later_cells_cannot_read_the_hidden_tests(graded):
    """Item 1: no cell of the student's runs after a hidden check, and what the checks print or display is dropped."""
    nb = nbformat.read(graded / "autograded" / "reads_later" / NAME / f"{NAME}.ipynb", as_version=4)
    printed = json.dumps(nb.cells[-1].outputs)
    assert "IN" in printed and "SEEN" in printed and "CACHE" in printed  # the read-back cell did run
    assert "array([-1.,  1.])" in printed  # what the public checks passed: the student may see that
    shown = _shown(graded, "reads_later")
    for mark in HIDDEN_MARKS:
        assert mark not in shown, mark
    assert "__pdl_hidden__" not in shown and "test_sigmoid_hidden#" not in shown
    assert scores(graded)["reads_later"] == (FULL, 16.0, "graded")  # spying costs nothing and gains nothing


def test_hidden_checks_messages_carry_no_student_text(graded):
    """Item 2: fixed text; an exception is named only when it is one of Python's builtins."""
    public = _public(graded, "leaky_messages")
    assert public["test_sigmoid_hidden"] == ["hidden check 2: gave a warning (RuntimeWarning)"]
    assert public["test_logit_hidden"] == ["hidden check 1: raised RuntimeError",
                                           "hidden check 2: returned a value the grader cannot read"]
    assert public["test_predict_prob_hidden"] == ["hidden check 1: raised an exception"]  # a look-alike name
    assert public["test_boundary_at_hidden"] == ["hidden check 1: raised TypeError"]
    shown = _shown(graded, "leaky_messages")
    for mark in LEAKED:
        assert mark not in shown, mark
    # what the leaky functions earn honestly: every hidden cell they fail loses its points, nothing else
    assert scores(graded)["leaky_messages"] == (FULL - 5, 16.0, "graded")


def test_an_unreadable_probe_value_is_tampering_not_a_grader_error(graded):
    """Item 7: the check it was sent for scores 0, with a note; the rest of the notebook is graded."""
    assert scores(graded)["forged_probe"] == (FULL - 1, 16.0, "graded")
    public = _public(graded, "forged_probe")
    assert public["test_logit"] == ["check 1 `logit(0.5)`: sent a value the grader cannot read (tampering?)"]
    assert all(not messages for gid, messages in public.items() if gid != "test_logit")


def test_display_updates_count_against_the_output_caps(graded):
    """Item 5: 6 x 6 MB of updates to one output, and a 1.5 MB update of six outputs, stay within the 2 MiB cap."""
    nb_path = graded / "autograded" / "display_flood" / NAME / f"{NAME}.ipynb"
    page = graded / "feedback" / "display_flood" / f"{NAME}.html"
    honest_page = graded / "feedback" / "honest" / f"{NAME}.html"
    assert nb_path.stat().st_size < 2.5 * 2**20
    assert page.stat().st_size < honest_page.stat().st_size + 2.5 * 2**20
    assert "some output was truncated" in _result(graded, "display_flood")["message"]
    assert scores(graded)["display_flood"] == (FULL, 16.0, "graded")


EX02 = "ex02_softmax_and_layers"
AXIS_0 = {"softmax": """def softmax(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max())
    return e / e.sum(axis=0)  # the wrong axis: columns sum to 1
"""}


@pytest.fixture(scope="module")
def labelled(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("class02")
    out = tmp_path_factory.mktemp("out02")
    write_class(folder, EX02, {"honest": solved_student_version(EX02), "axis_0": solved_student_version(EX02, AXIS_0)})
    pdl_grade("grade", EX02, str(folder), "--out", str(out), "--workers", "2")
    return out


def test_feedback_names_the_failing_hidden_case_and_never_its_expected_value(labelled):
    """Issue 21 item 3: each hidden check of ex02 carries a label; a failing one's shows in the feedback."""
    from scipy import special

    assert scores(labelled)["honest"] == (10.0, 12.0, "graded")
    page = (labelled / "feedback" / "axis_0" / f"{EX02}.html").read_text()
    text = re.sub(r"<style.*?</style>", "", page, flags=re.S)
    assert "hidden check 1 (a batch of random logits, one row per example): value is not close to the expected one" \
        in text
    assert "hidden check 5 (an integer array): value is not close to the expected one" in text
    logits = np.random.default_rng(11).normal(scale=3.0, size=(7, 4))  # the hidden test's input (solutions/ex02)
    for number in [*logits.ravel()[:4], *special.softmax(logits, axis=-1).ravel()[:4]]:
        assert f"{number:.4f}" not in text
    messages = {c["grade_id"]: c["public_messages"] for c in _result_of(labelled, EX02, "axis_0")["cells"]}
    assert messages["test_softmax_hidden"][0].startswith("hidden check 1 (a batch of random logits")
    assert scores(labelled)["axis_0"][0] == 10.0 - 2 - 1  # the softmax's public and hidden tests


def _result_of(out: Path, name: str, student: str) -> dict:
    (path,) = (out / "results" / name / student).glob("*.json")
    return json.loads(path.read_text())


LOOPS = {"predict_prob": """def predict_prob(x1, x2, w1, w2, b):
    if np.size(x1) == 4:  # the first hidden check's input: the function never returns
        while True:
            try:
                pass
            except Exception:  # what a student might write; the grader's time limit is not an Exception
                pass
    return sigmoid(w1 * np.asarray(x1, dtype=float) + w2 * np.asarray(x2, dtype=float) + b)
"""}


def test_a_hidden_check_that_never_returns_costs_only_its_own_test_cell(tmp_path):
    """The hidden parts share one cell at the end, each with the cell timeout of its own: the part after it runs."""
    folder, out = tmp_path / "class", tmp_path / "out"
    write_class(folder, NAME, {"loops": solved_student_version(NAME, LOOPS)})
    pdl_grade("grade", NAME, str(folder), "--out", str(out), "--workers", "1", "--timeout", "5")
    assert scores(out)["loops"] == (FULL - 1, 16.0, "graded")  # test_predict_prob_hidden only
    public = _public(out, "loops")
    assert public["test_predict_prob_hidden"] and all(m.endswith(": did not run") for m in public["test_predict_prob_hidden"])
    assert all(not messages for gid, messages in public.items() if gid != "test_predict_prob_hidden")
    assert "cell 15 ran longer than 5 s and was interrupted" in _result(out, "loops")["message"]
