"""Where things are, and nbgrader configured for this course's layout."""
from __future__ import annotations

import difflib
import os
import shutil
import sys
from pathlib import Path

from traitlets.config import Config

COURSE_ID = "pdl-lecture1"  # pdl-grade's own course; a hub course's id comes from its config (hub_course.py)
_course_id = COURSE_ID


def course_id() -> str:
    """The course id that gradebooks and the output folder's config are written with."""
    return _course_id


def use_course_id(value: str) -> None:
    """Grade for the course ``value`` (``--course``: the id in its nbgrader_config.py)."""
    global _course_id
    _course_id = value


class CourseError(RuntimeError):
    """The course itself cannot be found or has no such assignment (an instructor error)."""


def _is_root(folder: Path) -> bool:
    return (folder / "solutions").is_dir() and (folder / "autograder").is_dir()


def find_root(start: Path | None = None) -> Path:
    """The course root: the nearest folder upwards that holds ``solutions/`` and ``autograder/``.

    Without ``start`` the search begins in the current folder and, failing that, tries the
    checkout pdl-grade runs from (an editable install), so that it works from anywhere.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if _is_root(folder):
            return folder
    installed = Path(__file__).resolve().parent.parent
    if start is None and _is_root(installed):
        return installed
    also = "" if start is not None else f", nor does {installed}, where pdl-grade is installed from"
    raise CourseError(f"no course root found: neither {here} nor any folder above it holds solutions/ and "
                      f"autograder/{also}; run pdl-grade inside the course or pass --root COURSE")


def check_assignment(root: Path, name: str) -> None:
    """Raise CourseError naming the closest known assignment when ``name`` is not one."""
    known = assignments(root)
    if name in known:
        return
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5) or \
        [k for k in known if k.startswith(name) or name.startswith(k.split("_")[0])][:1]
    hint = f"; did you mean {close[0]}?" if close else ""
    raise CourseError(f"unknown assignment {name!r} in {root / 'solutions'}{hint} (known: {', '.join(known) or 'none'})")


def assignments(root: Path) -> list[str]:
    """Assignment names: every ``solutions/<name>/<name>.ipynb``."""
    return sorted(p.parent.name for p in (root / "solutions").glob("*/*.ipynb") if p.stem == p.parent.name)


def ensure_alembic_on_path() -> None:
    """nbgrader shells out to ``alembic`` when it creates a gradebook; it lives beside our python."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def new_gradebook(path: Path) -> None:
    """Put an empty nbgrader gradebook at ``path``, unless there is one.

    Each time nbgrader creates a gradebook it asks the ``alembic`` command for the schema's
    version: a 3 s subprocess. Here nbgrader makes one empty gradebook per nbgrader version
    (kept in the user's cache folder) and each new gradebook starts as a copy of it.
    """
    if path.exists():
        return
    import nbgrader
    from nbgrader.api import Gradebook

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pdl-grade"
    template = cache / f"empty-gradebook-{course_id()}-nbgrader-{nbgrader.__version__}.db"
    try:
        if not template.is_file():
            cache.mkdir(parents=True, exist_ok=True)
            tmp = template.with_suffix(f".{os.getpid()}.tmp")
            tmp.unlink(missing_ok=True)
            ensure_alembic_on_path()
            Gradebook(f"sqlite:///{tmp}", course_id()).close()
            os.replace(tmp, template)
        shutil.copyfile(template, path)
    except OSError:
        path.unlink(missing_ok=True)  # no cache here: nbgrader creates the gradebook itself


def nbgrader_config(root: Path, db_path: Path, source: str = "solutions", release: str = "exercises") -> Config:
    """nbgrader's CourseDirectory pointed at our folders and one sqlite gradebook."""
    ensure_alembic_on_path()
    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = course_id()
    c.CourseDirectory.source_directory = source
    c.CourseDirectory.release_directory = release
    c.CourseDirectory.db_url = f"sqlite:///{db_path}"
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]
    c.Exchange.root = str(db_path.parent / "exchange")  # unused; silences nbgrader's check of the default
    c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
    return c
