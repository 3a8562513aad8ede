"""A JupyterHub course as nbgrader has it (``--course DIR``): its config, folders, gradebook and due dates.

DIR is the instructor's: pdl-grade reads its ``nbgrader_config.py`` (after the Jupyter config path's, as
nbgrader does) with traitlets' loader and never writes it; DIR/source keeps the hidden tests and DIR's
gradebook records the assignment as nbgrader's ``generate_assignment`` does. pdl-grade's own state (stored
results, its redacted gradebook, CSVs) is in an output folder beside it (``DIR/pdl-grade`` by default).
Into DIR it writes only what nbgrader writes there: ``release/<a>``, the scores and submission times in the
gradebook, ``autograded/<s>/<a>/`` (redacted: nbgrader's own Generate Feedback on it shows no hidden test)
and ``feedback/<s>/<a>/`` for ``nbgrader release_feedback`` (exchange_feedback.py).
"""
from __future__ import annotations

import contextlib
import filecmp
import json
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from traitlets.config import Config
from traitlets.config.loader import ConfigFileNotFound, load_pyconfig_files

from .course import CourseError, ensure_alembic_on_path
from .gradebook import zero_submission
from .intake import Submission
from .model import Result, Status

CONFIG_FILE = "nbgrader_config.py"
PDL_CONFIG_MARK = "# Written by pdl-grade"  # the first line of formgrader.CONFIG: an output folder, not a course
DEFAULT_STRUCTURE = "{nbgrader_step}/{student_id}/{assignment_id}"
OUTPUT_FOLDER = "pdl-grade"  # pdl-grade's own output folder inside DIR, unless --out says otherwise


def written_by_pdl_grade(config_file: Path) -> bool:
    try:
        with open(config_file, encoding="utf-8", errors="replace") as handle:
            return handle.readline().startswith(PDL_CONFIG_MARK)
    except OSError:
        return False


def foreign_course(folder: Path) -> str:
    """What makes ``folder`` an nbgrader course that pdl-grade did not write ("" when it is none)."""
    config = folder / CONFIG_FILE
    if config.is_file():
        return "" if written_by_pdl_grade(config) else f"its {CONFIG_FILE}"
    if (folder / "results").is_dir() or (folder / "pdl-grade.json").is_file() or any(
            (folder / "release").glob(".*.release.json")):
        return ""  # an output folder whose config was not written yet (release.py's stamp is there first)
    found = [name for name in ("source", "gradebook.db") if (folder / name).exists()]
    return " and ".join(found)


@dataclass(frozen=True)
class HubCourse:
    root: Path
    config: Config

    @property
    def coursedir(self):  # nbgrader's CourseDirectory with DIR's settings
        from nbgrader.coursedir import CourseDirectory

        return CourseDirectory(config=self.config)

    @property
    def course_id(self) -> str:
        return self.coursedir.course_id

    @property
    def db_url(self) -> str:
        return self.coursedir.db_url

    @property
    def exchange_root(self) -> str:
        from nbgrader.exchange.default.exchange import Exchange

        return Exchange(config=self.config).root

    def path(self, step: str, student: str = ".", assignment: str = ".") -> Path:
        """nbgrader's ``<step>/<student>/<assignment>`` of this course (CourseDirectory.format_path)."""
        coursedir = self.coursedir
        return Path(coursedir.format_path(getattr(coursedir, f"{step}_directory"), student, assignment)).resolve()

    def source_notebook(self, assignment: str) -> Path:
        return self.path("source", ".", assignment) / f"{assignment}.ipynb"

    @contextlib.contextmanager
    def gradebook(self) -> Iterator:
        from nbgrader.api import Gradebook

        ensure_alembic_on_path()
        with contextlib.chdir(self.root), Gradebook(self.db_url, self.course_id) as gb:
            yield gb


def load(folder: Path) -> HubCourse:
    """DIR's nbgrader configuration, read as nbgrader reads it when run in DIR (CourseError when it cannot be)."""
    from jupyter_core.paths import jupyter_config_path

    root = folder.expanduser().absolute()
    if not root.is_dir():
        raise CourseError(f"--course {folder}: there is no such folder")
    if not (root / CONFIG_FILE).is_file():
        raise CourseError(f"--course {folder}: {root} has no {CONFIG_FILE}, so it is not an nbgrader course "
                          "(nbgrader quickstart makes one); for pdl-grade's own output folder use --out")
    if written_by_pdl_grade(root / CONFIG_FILE):
        raise CourseError(f"--course {folder}: {root} is an output folder of pdl-grade grade, not a course; "
                          "use --out for it")
    config = Config()
    with contextlib.chdir(root):  # relative paths in the config mean what they mean to nbgrader run in DIR
        for where in [*reversed(jupyter_config_path()), str(root)]:  # the lowest priority first; DIR's last
            if not (Path(where) / CONFIG_FILE).is_file():
                continue
            try:
                config.merge(load_pyconfig_files([CONFIG_FILE], where))
            except ConfigFileNotFound:
                continue
            except Exception as exc:
                raise CourseError(f"cannot read {Path(where) / CONFIG_FILE}: {type(exc).__name__}: {exc}") from exc
        if "root" in config.CourseDirectory:
            config.CourseDirectory.root = str(Path(config.CourseDirectory.root).absolute())
        else:
            config.CourseDirectory.root = str(root)
        course = HubCourse(Path(config.CourseDirectory.root), config)
        coursedir = course.coursedir
    if not coursedir.course_id:
        raise CourseError(f"--course {folder}: its {CONFIG_FILE} sets no course id (c.CourseDirectory.course_id), "
                          "which nbgrader's exchange needs")
    if coursedir.directory_structure != DEFAULT_STRUCTURE:
        raise CourseError(f"--course {folder}: its CourseDirectory.directory_structure is "
                          f"{coursedir.directory_structure!r}; pdl-grade reads nbgrader's default {DEFAULT_STRUCTURE!r}")
    return course


def check_assignment(course: HubCourse, assignment: str) -> None:
    """The assignment is released in the course: its source notebook and its gradebook entry are there."""
    from nbgrader.api import MissingEntry

    if not course.source_notebook(assignment).is_file():
        known = sorted(p.name for p in course.path("source").glob("*") if p.is_dir())
        raise CourseError(f"the course {course.root} has no {course.source_notebook(assignment)} (its assignments: "
                          f"{', '.join(known) or 'none'}); run pdl-grade release --course {course.root} {assignment}")
    with course.gradebook() as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise CourseError(f"the gradebook of {course.root} has no assignment {assignment}; run pdl-grade release "
                              f"--course {course.root} {assignment}") from None


def release(pdl_root: Path, course: HubCourse, names: list[str], log) -> list[Path]:
    """solutions/<a> -> DIR/source/<a> (unless DIR has its own), then nbgrader's generate_assignment in DIR.

    nbgrader writes DIR/release/<a> and records the assignment in DIR's gradebook, with DIR's settings;
    DIR/source keeps the hidden tests (nbgrader's source is the instructor's).
    """
    from nbgrader.apps.api import NbGraderAPI

    from .course import assignments as pdl_assignments
    from .plans import plan_assignment
    from .release import IGNORE, ReleaseError

    names = names or pdl_assignments(pdl_root)
    for name in names:
        if not (pdl_root / "solutions" / name / f"{name}.ipynb").is_file() and not course.source_notebook(name).is_file():
            raise CourseError(f"unknown assignment {name!r}: neither {pdl_root / 'solutions' / name} nor "
                              f"{course.path('source', '.', name)} holds {name}.ipynb")
    written = []
    for name in names:
        source, ours = course.path("source", ".", name), pdl_root / "solutions" / name
        if not source.exists():
            shutil.copytree(ours, source, ignore=shutil.ignore_patterns(*IGNORE))
            log(f"copied {ours} to {source}")
        elif ours.is_dir() and not filecmp.cmp(ours / f"{name}.ipynb", source / f"{name}.ipynb", shallow=False):
            log(f"kept the course's own {source} (it differs from {ours})")
        plan_assignment(nbformat.read(source / f"{name}.ipynb", as_version=4))  # the test cells' lint first
        ensure_alembic_on_path()
        with contextlib.chdir(course.root):
            api = NbGraderAPI(course.coursedir, config=course.config)
            result = api.generate_assignment(name, force=True, create=True)
        if not result["success"]:
            raise ReleaseError(f"nbgrader generate_assignment {name} failed in {course.root}: "
                               f"{(result.get('error') or result.get('log') or '').strip().splitlines()[-1:]}")
        written.append(course.path("release", ".", name) / f"{name}.ipynb")
    return written


@contextlib.contextmanager
def grading_root(course: HubCourse, assignment: str) -> Iterator[Path]:
    """A course root for the grader whose solutions/<a> is DIR/source/<a>: DIR's hidden tests are the ones graded."""
    with tempfile.TemporaryDirectory(prefix="pdl-hub-") as tmp:
        (Path(tmp) / "solutions").mkdir()
        (Path(tmp) / "solutions" / assignment).symlink_to(course.path("source", ".", assignment),
                                                           target_is_directory=True)
        yield Path(tmp)


def nbgrader_id(course: HubCourse, sub: Submission) -> str:
    """The student's nbgrader id: the submitted/ folder's own name (intake's id is its ASCII form)."""
    submitted = course.path("submitted")
    if sub.path is not None and sub.path.is_relative_to(submitted):
        return sub.path.relative_to(submitted).parts[0]
    return sub.student_id


def stamp_late(course: HubCourse, assignment: str, submissions: Iterable[Submission]) -> dict[str, float]:
    """Each submission's timestamp.txt into DIR's gradebook, and its late mark from nbgrader's own seconds late.

    As ``nbgrader autograde``: CourseDirectory.get_existing_timestamp reads the file, the gradebook keeps it,
    and SubmittedAssignment.total_seconds_late compares it with the due date (and the student's extension).
    Returns {student: seconds late} for the submissions that have a timestamp.
    """
    from nbgrader.api import MissingEntry

    coursedir, seconds = course.coursedir, {}
    with course.gradebook() as gb:
        for sub in submissions:
            if sub.status is Status.MISSING:
                continue
            student = nbgrader_id(course, sub)
            folder = course.path("submitted", student, assignment)
            try:
                stamp = coursedir.get_existing_timestamp(str(folder))
            except Exception as exc:  # noqa: BLE001 (nbgrader's fail() exits; any bad file is one note)
                sub.message = "; ".join(filter(None, [sub.message, f"unreadable timestamp.txt ({exc}): not marked late"]))
                continue
            if stamp is None:
                continue
            try:
                gb.find_student(student)
            except MissingEntry:
                gb.add_student(student)  # as nbgrader autograde's create_student; a known student's names stay
            submission = gb.update_or_create_submission(assignment, student, timestamp=stamp)
            seconds[sub.student_id] = submission.total_seconds_late
            sub.late = submission.total_seconds_late > 0
    return seconds


def publish(course: HubCourse, assignment: str, results: Iterable[Result], reviewed: set[str]) -> int:
    """The results into DIR's gradebook (nbgrader's SaveAutoGrades) and DIR/autograded/<s>/<a>/, redacted.

    autograded/ is what nbgrader's formgrader shows and its Generate Feedback renders: the notebook is the
    student's view (no hidden test, no rubric cell) and, as nbgrader autograde copies them, the submission's
    timestamp.txt and submission_secret.txt are beside it. ``reviewed``: students whose result is unchanged
    since it was recorded, so a grade a grader reviewed stays reviewed. Returns how many were recorded.
    """
    from nbgrader.api import MissingEntry

    from .feedback import redact
    from .shared_gradebook import SharedSaveAutoGrades, close_all, gradebook

    count = 0
    try:
        with contextlib.chdir(course.root):
            gb = gradebook(course.db_url)
            for result in results:
                if result.status is Status.MISSING:  # nbgrader has no submission row for it either
                    continue
                student = result.student_id
                try:
                    gb.find_student(student)
                except MissingEntry:
                    gb.add_student(student)
                submission = gb.update_or_create_submission(assignment, student)
                target = course.path("autograded", student, assignment)
                target.mkdir(parents=True, exist_ok=True)
                for name in ("timestamp.txt", "submission_secret.txt"):
                    given = course.path("submitted", student, assignment) / name
                    if given.is_file():
                        shutil.copyfile(given, target / name)
                count += 1
                if result.notebook is None:
                    zero_submission(gb, submission)
                    continue
                nb = nbformat.from_dict(result.notebook)
                SharedSaveAutoGrades().preprocess(nb, ResourcesDict(nbgrader={
                    "db_url": course.db_url, "assignment": assignment, "notebook": assignment, "student": student,
                    "unchanged": student in reviewed}))
                redact(nb)
                nb.metadata.pop("pdl", None)
                (target / f"{assignment}.ipynb").write_text(json.dumps(nb, sort_keys=True, ensure_ascii=False),
                                                            encoding="utf-8")
    finally:
        close_all()
    return count
