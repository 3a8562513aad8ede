"""release.generate reuses its output while the release key is unchanged (nbgrader runs once)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.apps.api import NbGraderAPI

from autograder import release
from autograder.course import COURSE_ID

ROOT = Path(__file__).resolve().parents[2]
NAME = "ex01_logistic_regression"


@pytest.fixture
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[str]]:
    """A course root with one assignment, a cache of its own, and a log of nbgrader's runs."""
    root = tmp_path / "course"
    shutil.copytree(ROOT / "solutions" / NAME, root / "solutions" / NAME)
    monkeypatch.setattr(release, "cache_root", lambda: tmp_path / "cache")
    runs: list[str] = []
    generate_assignment = NbGraderAPI.generate_assignment

    def counted(self: NbGraderAPI, assignment_id: str, **kwargs: object) -> dict:
        runs.append(assignment_id)
        return generate_assignment(self, assignment_id, **kwargs)

    monkeypatch.setattr(NbGraderAPI, "generate_assignment", counted)
    return root, runs


def test_an_unchanged_source_is_released_once(course: tuple[Path, list[str]], tmp_path: Path) -> None:
    root, runs = course
    first = release.generate(root, NAME, root / "exercises")
    shipped = first.read_bytes()
    assert runs == [NAME]
    assert release.generate(root, NAME, root / "exercises") == first and runs == [NAME]
    assert first.read_bytes() == shipped

    # grade's use: a fresh output folder with its gradebook, both from the cache
    out = tmp_path / "out"
    out.mkdir()
    graded = release.generate(root, NAME, out / "release", db_path=out / "gradebook.db")
    assert runs == [NAME] and graded.read_bytes() == shipped
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}", COURSE_ID) as gb:
        assert [n.name for n in gb.find_assignment(NAME).notebooks] == [NAME]
        assert gb.find_notebook(NAME, NAME).max_score > 0
    # the same folder again (a resumed batch): its stamp says the gradebook has it recorded
    release.generate(root, NAME, out / "release", db_path=out / "gradebook.db")
    assert runs == [NAME]

    # an output edited by hand is put back, still without nbgrader
    first.write_text("{}")
    assert release.generate(root, NAME, root / "exercises").read_bytes() == shipped and runs == [NAME]


def test_a_changed_source_is_released_again(course: tuple[Path, list[str]]) -> None:
    root, runs = course
    before = release.generate(root, NAME, root / "exercises").read_text()
    source = root / "solutions" / NAME / f"{NAME}.ipynb"
    nb = nbformat.read(source, as_version=4)
    markdown = next(c for c in nb.cells if c.cell_type == "markdown")
    markdown.source += "\n\nA sentence added by the test."
    nbformat.write(nb, source)
    after = release.generate(root, NAME, root / "exercises").read_text()
    assert runs == [NAME, NAME]
    assert "A sentence added by the test." in after and after != before
    stamp = json.loads((root / "exercises" / f".{NAME}.release.json").read_text())
    assert stamp["key"] == release.release_key(root, NAME)
    assert release.generate(root, NAME, root / "exercises", reuse=False) and runs == [NAME, NAME, NAME]


def test_the_key_covers_every_file_of_the_source_folder(course: tuple[Path, list[str]]) -> None:
    root, _ = course
    key = release.release_key(root, NAME)
    (root / "solutions" / NAME / "data.csv").write_text("1,2\n")
    assert release.release_key(root, NAME) != key
    (root / "solutions" / NAME / "data.csv").unlink()
    assert release.release_key(root, NAME) == key
