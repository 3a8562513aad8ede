"""solutions/ -> exercises/: nbgrader's generate_assignment, after a lint of the test cells.

nbgrader takes ~1.8 s per assignment, and its output depends only on the source folder, the
versions of nbgrader, nbconvert and nbformat, and our release code: that content hash (``release_key``)
names a copy of the output in the user's cache, and a stamp next to the output says which hash it
holds. While neither changes, ``generate`` copies or keeps the output instead of running nbgrader.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from contextlib import closing
from importlib import metadata
from pathlib import Path

from .course import assignments, nbgrader_config, new_gradebook

IGNORE = (".ipynb_checkpoints", "__pycache__")
SHAPING_PACKAGES = ("nbgrader", "nbconvert", "nbformat")  # their versions shape the student version
# our modules that shape it: nbgrader's configuration, the test-cell lint, this one (read, not imported:
# a reuse imports neither nbgrader nor numpy)
SHAPING_MODULES = ("course.py", "plans.py", "verdicts.py", "release.py")


class ReleaseError(RuntimeError):
    pass


def source_notebook(root: Path, name: str) -> Path:
    path = root / "solutions" / name / f"{name}.ipynb"
    if not path.is_file():
        known = ", ".join(assignments(root)) or "none"
        raise ReleaseError(f"unknown assignment {name!r} (known: {known})")
    return path


def release_key(root: Path, name: str) -> str:
    """The content hash of everything that shapes ``name``'s student version and gradebook entry."""
    digest = hashlib.sha256()
    folder = root / "solutions" / name
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not any(part in IGNORE for part in path.relative_to(folder).parts):
            digest.update(json.dumps(["file", path.relative_to(folder).as_posix()]).encode())
            digest.update(path.read_bytes())
    for package in SHAPING_PACKAGES:
        digest.update(json.dumps([package, metadata.version(package)]).encode())
    for module in SHAPING_MODULES:
        digest.update(Path(__file__).with_name(module).read_bytes())
    return digest.hexdigest()


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pdl-grade" / "releases"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _stamp_path(dest: Path, name: str) -> Path:
    return dest / f".{name}.release.json"


def _read_stamp(dest: Path, name: str) -> dict:
    try:
        return json.loads(_stamp_path(dest, name).read_text())
    except (OSError, ValueError):
        return {}


def _up_to_date(dest: Path, name: str, key: str, db_path: Path | None) -> bool:
    """``dest/<name>`` holds the output for ``key`` (unedited), and ``db_path`` has it recorded."""
    stamp, notebook = _read_stamp(dest, name), dest / name / f"{name}.ipynb"
    if stamp.get("key") != key or not notebook.is_file() or stamp.get("notebook_sha256") != _sha256(notebook):
        return False
    return db_path is None or (db_path.is_file() and stamp.get("gradebook") == str(db_path.resolve()))


def _write_stamp(dest: Path, name: str, key: str, db_path: Path | None) -> None:
    stamp = {"key": key, "notebook_sha256": _sha256(dest / name / f"{name}.ipynb"),
             "gradebook": str(db_path.resolve()) if db_path else None}
    _stamp_path(dest, name).write_text(json.dumps(stamp, indent=1) + "\n")


def _replace_tree(source: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)


def _save_to_cache(key: str, release_dir: Path, gradebook: Path) -> None:
    """Keep the output for ``key``: the release folder and a gradebook with only this assignment in it."""
    entry = cache_root() / key
    if entry.is_dir():
        return
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key[:12]}-", dir=entry.parent))
    except OSError:
        return  # no cache here: the next run generates again
    try:
        shutil.copytree(release_dir, tmp / "release")
        shutil.copyfile(gradebook, tmp / "gradebook.db")
        os.rename(tmp, entry)  # atomic: another process that got there first keeps its own
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)


def _run_nbgrader(root: Path, name: str, dest: Path, db_path: Path | None, key: str) -> None:
    """nbgrader's generate_assignment into ``dest/<name>`` (and ``db_path``), and a copy in the cache."""
    from nbgrader.apps.api import NbGraderAPI  # nbgrader only when it runs: a reuse needs none of it
    from nbgrader.coursedir import CourseDirectory

    with tempfile.TemporaryDirectory(prefix="pdl-release-") as tmp:
        course_dir = Path(tmp)
        shutil.copytree(root / "solutions" / name, course_dir / "solutions" / name,
                        ignore=shutil.ignore_patterns(*IGNORE))
        fresh = db_path is None or not db_path.exists()  # then the gradebook holds this assignment only
        gradebook = db_path or course_dir / "gradebook.db"
        new_gradebook(gradebook)
        config = nbgrader_config(course_dir, gradebook)
        api = NbGraderAPI(CourseDirectory(config=config), config=config)
        result = api.generate_assignment(name, force=True, create=True)
        if not result["success"]:
            raise ReleaseError(f"nbgrader generate_assignment failed for {name}:\n{result.get('error') or result.get('log')}")
        _keep_hidden_tests_out(gradebook, name, course_dir / "exercises" / name / f"{name}.ipynb")
        _replace_tree(course_dir / "exercises" / name, dest / name)
        if fresh:
            _save_to_cache(key, course_dir / "exercises" / name, gradebook)


def _keep_hidden_tests_out(db_path: Path, name: str, released: Path) -> None:
    """Make the gradebook's source cells the student version's (source and checksum), as released.

    nbgrader records a test cell before it clears the hidden tests, so its gradebook would hold
    them; the gradebook lives in pdl-grade's output folder, which holds no hidden test. The grader
    reads them from solutions/ (plans.py); OverwriteCells restores a test cell to what the student
    was given. VACUUM rewrites the file, so no freed page keeps the old text either.
    """
    import sqlite3

    import nbformat
    from nbgrader.api import Gradebook

    from .course import ensure_alembic_on_path

    student = {cell.metadata.nbgrader["grade_id"]: cell for cell in nbformat.read(released, as_version=4).cells
               if cell.metadata.get("nbgrader", {}).get("grade_id")}
    ensure_alembic_on_path()
    with Gradebook(f"sqlite:///{db_path}") as gb:
        changed = 0
        for cell in gb.find_notebook(name, name).source_cells:
            given = student.get(cell.name)
            if given is None:  # nbgrader releases every cell it records
                raise ReleaseError(f"{name}: cell {cell.name} is in the gradebook but not in the student version")
            if (cell.source, cell.checksum) != (given.source, given.metadata.nbgrader.get("checksum")):
                cell.source, cell.checksum = given.source, given.metadata.nbgrader.get("checksum")
                changed += 1
        gb.db.commit()
    if changed:
        try:
            with closing(sqlite3.connect(db_path, isolation_level=None, timeout=30)) as conn:
                conn.execute("VACUUM")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError as exc:  # e.g. formgrader holds the gradebook
            raise ReleaseError(f"cannot rewrite the gradebook {db_path}: {exc}; stop formgrader and run again") from exc


def generate(root: Path, name: str, dest: Path, db_path: Path | None = None, reuse: bool = True) -> Path:
    """Write the student version of ``name`` into ``dest/<name>/`` and return its notebook path.

    With ``db_path`` the assignment (its cells as the student version has them, points) is also
    recorded in that nbgrader gradebook. nbgrader runs only when neither ``dest`` nor the cache
    holds the output for the current ``release_key`` (an existing gradebook that has not recorded
    this source is updated by nbgrader itself, as before). ``reuse=False``: always nbgrader.
    """
    source = source_notebook(root, name)
    key = release_key(root, name)
    notebook = dest / name / f"{name}.ipynb"
    if reuse and _up_to_date(dest, name, key, db_path):
        return notebook
    import nbformat

    from .plans import plan_assignment

    plan_assignment(nbformat.read(source, as_version=4))  # lint first
    dest.mkdir(parents=True, exist_ok=True)
    cached = cache_root() / key
    if reuse and (cached / "release").is_dir() and (db_path is None or not db_path.exists()):
        _replace_tree(cached / "release", dest / name)
        if db_path is not None:
            shutil.copyfile(cached / "gradebook.db", db_path)
    else:
        _run_nbgrader(root, name, dest, db_path, key)
    _write_stamp(dest, name, key, db_path)
    return notebook


def release(root: Path, names: list[str] | None = None) -> list[Path]:
    """Regenerate ``exercises/`` for the named assignments (all by default)."""
    names = names or assignments(root)
    for name in names:
        source_notebook(root, name)  # fail before writing anything
    return [generate(root, name, root / "exercises") for name in names]
