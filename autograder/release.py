"""solutions/ -> exercises/: nbgrader's generate_assignment, after a lint of the test cells."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import nbformat
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory

from .course import assignments, nbgrader_config, new_gradebook
from .plans import plan_assignment


class ReleaseError(RuntimeError):
    pass


def source_notebook(root: Path, name: str) -> Path:
    path = root / "solutions" / name / f"{name}.ipynb"
    if not path.is_file():
        known = ", ".join(assignments(root)) or "none"
        raise ReleaseError(f"unknown assignment {name!r} (known: {known})")
    return path


def generate(root: Path, name: str, dest: Path, db_path: Path | None = None) -> Path:
    """Write the student version of ``name`` into ``dest/<name>/`` and return its notebook path.

    With ``db_path`` the assignment (source cells with hidden tests, points) is also
    recorded in that nbgrader gradebook.
    """
    plan_assignment(nbformat.read(source_notebook(root, name), as_version=4))  # lint first
    with tempfile.TemporaryDirectory(prefix="pdl-release-") as tmp:
        course = Path(tmp)
        shutil.copytree(root / "solutions" / name, course / "solutions" / name,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        new_gradebook(db_path or course / "gradebook.db")
        config = nbgrader_config(course, db_path or course / "gradebook.db")
        api = NbGraderAPI(CourseDirectory(config=config), config=config)
        result = api.generate_assignment(name, force=True, create=True)
        if not result["success"]:
            raise ReleaseError(f"nbgrader generate_assignment failed for {name}:\n{result.get('error') or result.get('log')}")
        target = dest / name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(course / "exercises" / name, target)
    return target / f"{name}.ipynb"


def release(root: Path, names: list[str] | None = None) -> list[Path]:
    """Regenerate ``exercises/`` for the named assignments (all by default)."""
    names = names or assignments(root)
    for name in names:
        source_notebook(root, name)  # fail before writing anything
    return [generate(root, name, root / "exercises") for name in names]
