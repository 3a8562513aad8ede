"""shared_gradebook's views give the same notebooks, grades and scores as nbgrader's stock preprocessors.

One assignment is recorded in a gradebook (through release.generate, i.e. nbgrader), the gradebook is copied,
and the same submission goes through nbgrader's OverwriteCells, SaveAutoGrades and GetGrades on one copy and
through the Shared* classes on the other.
"""
from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbconvert.exporters.exporter import ResourcesDict
from nbgrader.api import Gradebook
from nbgrader.preprocessors import GetGrades, OverwriteCells, OverwriteKernelspec, SaveAutoGrades

from autograder import release, shared_gradebook
from autograder.course import COURSE_ID
from autograder.plans import is_test_cell
from autograder.verdicts import verdict_outputs

ROOT = Path(__file__).resolve().parents[2]
NAME = "ex01_logistic_regression"
STUDENT = "alice"
# nbgrader's update_or_create_submission trips SQLAlchemy 2's autoflush warning (as in gradebook.py); the rows are right
pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, nbformat.NotebookNode]:
    """Two identical gradebooks with the assignment and a submission recorded, and the student version."""
    tmp = tmp_path_factory.mktemp("gradebooks")
    released = release.generate(ROOT, NAME, tmp / "release", db_path=tmp / "stock.db")
    shutil.copyfile(tmp / "stock.db", tmp / "shared.db")
    urls = []
    for name in ("stock.db", "shared.db"):
        url = f"sqlite:///{tmp / name}"
        with Gradebook(url, COURSE_ID) as gb:
            gb.update_or_create_student(STUDENT)
            gb.update_or_create_submission(NAME, STUDENT)
        urls.append(url)
    yield urls[0], urls[1], nbformat.read(released, as_version=4)
    shared_gradebook.close_all()


def submission(released: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student version with a locked cell edited, a test cell deleted and verdicts in the test cells:
    every other test cell passes."""
    nb = copy.deepcopy(released)
    tests = [cell for cell in nb.cells if is_test_cell(cell)]
    for number, cell in enumerate(tests):
        cell.outputs = verdict_outputs(number % 2 == 0, ["check 1: wrong"])
    locked = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("locked") and not is_test_cell(c))
    locked.source += "\n# edited by the student"
    nb.cells.remove(tests[-1])
    nb.metadata["kernelspec"] = {"name": "other", "display_name": "Other"}
    return nb


def resources(url: str, student: bool = False) -> ResourcesDict:
    info = {"db_url": url, "assignment": NAME, "notebook": NAME}
    return ResourcesDict(nbgrader={**info, "student": STUDENT} if student else info)


def test_restored_notebooks_are_the_same(books: tuple[str, str, nbformat.NotebookNode]) -> None:
    stock_url, shared_url, released = books
    stock, _ = OverwriteKernelspec().preprocess(submission(released), resources(stock_url))
    stock, _ = OverwriteCells(add_missing_cells=True).preprocess(stock, resources(stock_url))
    ours, _ = shared_gradebook.SharedOverwriteKernelspec().preprocess(submission(released), resources(shared_url))
    ours, _ = shared_gradebook.SharedOverwriteCells(add_missing_cells=True).preprocess(ours, resources(shared_url))
    assert ours == stock
    assert "# edited by the student" not in str(stock) and stock.metadata["kernelspec"]["name"] != "other"


def test_saved_grades_and_read_scores_are_the_same(books: tuple[str, str, nbformat.NotebookNode]) -> None:
    stock_url, shared_url, released = books
    graded, _ = OverwriteCells(add_missing_cells=True).preprocess(submission(released), resources(stock_url))
    SaveAutoGrades().preprocess(copy.deepcopy(graded), resources(stock_url, student=True))
    shared_gradebook.SharedSaveAutoGrades().preprocess(copy.deepcopy(graded), resources(shared_url, student=True))

    def grades(url: str) -> list[tuple]:
        with Gradebook(url, COURSE_ID) as gb:
            notebook = gb.find_submission_notebook(NAME, NAME, STUDENT)
            rows = [(g.name, g.auto_score, g.manual_score, g.needs_manual_grade, g.max_score) for g in notebook.grades]
            rows += [(c.name, c.auto_comment, c.manual_comment) for c in notebook.comments]
            return sorted(rows, key=str) + [(notebook.score, notebook.max_score)]

    stock_rows = grades(stock_url)
    assert stock_rows == grades(shared_url)
    assert 0 < stock_rows[-1][0] < stock_rows[-1][1]  # some tests passed, some failed

    stock_nb, stock_res = GetGrades().preprocess(copy.deepcopy(graded), resources(stock_url, student=True))
    ours_nb, ours_res = shared_gradebook.SharedGetGrades().preprocess(copy.deepcopy(graded),
                                                                    resources(shared_url, student=True))
    assert ours_nb == stock_nb
    for key in ("score", "max_score", "late_penalty"):
        assert ours_res["nbgrader"][key] == stock_res["nbgrader"][key], key


def _hidden_lines() -> list[str]:
    source = nbformat.read(release.source_notebook(ROOT, NAME), as_version=4)
    lines = [line.strip() for cell in source.cells if is_test_cell(cell)
             for block in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S)
             for line in block.splitlines() if len(line.strip()) > 12]
    assert len(lines) >= 6
    return lines


def test_the_gradebook_holds_test_cells_as_released_and_no_hidden_test(
        books: tuple[str, str, nbformat.NotebookNode]) -> None:
    """It lives in pdl-grade's output folder: nbgrader recorded the hidden tests, release.py replaced them."""
    stock_url, _, released = books
    given = {c.metadata.nbgrader["grade_id"]: c for c in released.cells if "nbgrader" in c.metadata}
    with Gradebook(stock_url, COURSE_ID) as gb:
        cells = gb.find_notebook(NAME, NAME).source_cells
        assert len(cells) == len(given)
        for cell in cells:
            assert (cell.source, cell.checksum) == (given[cell.name].source, given[cell.name].metadata.nbgrader["checksum"])
    path = Path(stock_url.removeprefix("sqlite:///"))
    data = b"".join(p.read_bytes() for p in path.parent.glob(f"{path.name}*")).decode("utf-8", "replace")
    assert "BEGIN HIDDEN TESTS" not in data and not [line for line in _hidden_lines() if line in data]
    # an edited test cell with hidden tests is restored to what the student was given, and nbgrader agrees
    nb = copy.deepcopy(released)
    cell = next(c for c in nb.cells if is_test_cell(c) and c.metadata.nbgrader["grade_id"].endswith("_hidden"))
    cell.source = "pass  # edited"
    ours, _ = shared_gradebook.SharedOverwriteCells().preprocess(nb, resources(stock_url))
    assert ours.cells == released.cells
