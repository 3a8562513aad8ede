"""An ex01 class for the similarity check and the class report: independent answers, planted copies, blank ones.

Independent: the instructor's solution, each differently written right answer of tests/cases (only the cells it
writes; the rest left as released, a student who did part of it), and two more students written here, who answer
every cell in their own way (not part of the calibration: an out-of-sample check of its threshold). Planted: a
copy of the solution and of one of the two, every local name renamed and the comments changed. Blank: two students
who submit the student version untouched.
"""
from __future__ import annotations

import ast
import io
import itertools
import tokenize

import nbformat
from conftest import exercise_path, read_nb, solved_student_version, student_version_with

from cases import ex01_logistic_regression as cases

NAME = "ex01_logistic_regression"

OWN = {
    "ind_masks": {
        "sigmoid": ("def sigmoid(z):\n    x = np.asarray(z, dtype=np.float64)\n    out = np.empty(x.shape)\n"
                    "    big = x > 0\n    out[big] = 1.0 / (1.0 + np.exp(-x[big]))\n    small = np.exp(x[~big])\n"
                    "    out[~big] = small / (small + 1.0)\n    return out[()]\n"),
        "logit": "def logit(p):\n    q = np.asarray(p, dtype=float)\n    return np.log(q / (1.0 - q))\n",
        "predict_prob": ("def predict_prob(x1, x2, w1, w2, b):\n"
                         "    score = b + w1 * np.asarray(x1, dtype=float) + w2 * np.asarray(x2, dtype=float)\n"
                         "    return sigmoid(score)\n"),
        "p_fake": "p_fake = float(sigmoid(0.3 * 1 + 0.1 * 2.2 + 1))\n",
        "decision_boundary": ("def decision_boundary(b, w1, w2):\n    if w2 == 0:\n"
                              "        raise ValueError('cannot divide by w2 = 0')\n    slope = -w1 / w2\n"
                              "    intercept = -b / w2\n    return intercept, slope\n"),
        "boundary_at": ("def boundary_at(p, b, w1, w2):\n    if w2 == 0:\n        raise ValueError('vertical boundary')\n"
                        "    shift = np.log(p / (1 - p))\n    return (shift - b) / w2, -w1 / w2\n"),
    },
    "ind_logaddexp": {
        "sigmoid": ("def sigmoid(z):\n    # exp(-log(1 + e^-z)), computed without overflow\n"
                    "    arr = np.asarray(z, dtype=float)\n    return np.exp(-np.logaddexp(0.0, -arr))\n"),
        "logit": "def logit(p):\n    p = np.asarray(p, dtype=float)\n    return -np.log(1.0 / p - 1.0)\n",
        "predict_prob": ("def predict_prob(x1, x2, w1, w2, b):\n    total = float(b)\n"
                         "    total = total + w1 * np.asarray(x1)\n    total = total + w2 * np.asarray(x2)\n"
                         "    return sigmoid(total)\n"),
        "p_fake": "import math\np_fake = 1 / (1 + math.exp(-(0.3 + 0.22 + 1.0)))\n",
        "decision_boundary": ("def decision_boundary(b, w1, w2):\n    if w2 == 0:\n"
                              "        raise ValueError('w2 must not be zero')\n"
                              "    return tuple(-c / w2 for c in (b, w1))\n"),
        "boundary_at": ("def boundary_at(p, b, w1, w2):\n    z = float(np.log(p) - np.log1p(-p))\n"
                        "    a, m = decision_boundary(b - z, w1, w2)\n    return a, m\n"),
    },
}
WORDS = ["alpha", "beta", "gamma", "delta", "omega", "kappa", "theta", "rho", "tau", "zeta"]


def disguise(source: str) -> str:
    """A copy as a student hides it: every local variable renamed, each comment replaced, one comment added."""
    tree = ast.parse(source)
    stored = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)})
    module_level = {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    rename = {name: f"{WORDS[i % len(WORDS)]}{i}" for i, name in enumerate(n for n in stored if n not in module_level)}
    out, previous = [], None
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME and tok.string in rename and not (previous and previous.string == "."):
            tok = tok._replace(string=rename[tok.string])
        elif tok.type == tokenize.COMMENT:
            tok = tok._replace(string="# worked this out in the lab")
        out.append(tok)
        previous = tok
    return "# my own solution\n" + tokenize.untokenize(out)


def solution_answers() -> dict[str, str]:
    nb = solved_student_version(NAME)
    starter = code_cells(read_nb(exercise_path(NAME)))
    return {g: c.source for c in nb.cells if (g := c.metadata.get("nbgrader", {}).get("grade_id")) in starter}


def code_cells(nb: nbformat.NotebookNode) -> dict[str, str]:
    return {c.metadata.nbgrader["grade_id"]: c.source for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}


def notebooks() -> dict[str, nbformat.NotebookNode]:
    """student -> notebook, as submitted."""
    found = {"solution": solved_student_version(NAME)}
    for case in cases.CORRECT:
        found[case.label] = student_version_with(NAME, case.answers)
    for student, answers in OWN.items():
        found[student] = student_version_with(NAME, answers)
    found["copy_of_solution"] = student_version_with(NAME, {g: disguise(s) for g, s in solution_answers().items()})
    found["copy_of_ind_masks"] = student_version_with(NAME, {g: disguise(s) for g, s in OWN["ind_masks"].items()})
    found["blank_1"] = read_nb(exercise_path(NAME))
    found["blank_2"] = read_nb(exercise_path(NAME))
    return found


PLANTED = {frozenset({"solution", "copy_of_solution"}), frozenset({"ind_masks", "copy_of_ind_masks"})}
BLANK = frozenset({"blank_1", "blank_2"})
INDEPENDENT_STUDENTS = ["solution", *(c.label for c in cases.CORRECT), *OWN]


def independent_pairs() -> set[frozenset[str]]:
    """Pairs of students whose answers were written independently: any two of INDEPENDENT_STUDENTS, and each copy
    with any of them but its original."""
    pairs = {frozenset(p) for p in itertools.combinations(INDEPENDENT_STUDENTS, 2)}
    for copy, original in (("copy_of_solution", "solution"), ("copy_of_ind_masks", "ind_masks")):
        pairs |= {frozenset({copy, s}) for s in INDEPENDENT_STUDENTS if s != original}
    return pairs | {frozenset({"copy_of_solution", "copy_of_ind_masks"})}
