"""Folder or LMS zip -> one checked Submission per student.

The download's layout (Canvas, Moodle, Blackboard, nbgrader's submitted/ tree, one folder per
student, or ``--id-pattern``) is detected from its names (layouts.py); entries that fit no
layout are listed, and a download in which nothing fits is an instructor error. Among one
student's files the latest counts and the others are noted. Every problem with one student's
files becomes that student's status and message; none stops the batch.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import stat
import tempfile
import time
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat

from .layouts import JUNK, Claim, Layout, Pattern, base_stem, detectable, lms_layouts
from .model import Roster, Status

log = logging.getLogger("pdl-grade")
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
MAX_ZIP_BYTES = 2 * 1024 ** 3  # uncompressed total
MAX_ZIP_RATIO = 200  # a zip bomb compresses far better than notebooks do
MAX_ZIP_MEMBERS = 100_000
SHOWN = 5  # names quoted in a message


class IntakeError(RuntimeError):
    """The submissions as a whole cannot be read (an instructor error)."""


@dataclass
class Submission:
    student_id: str
    status: Status  # OK (or WRONG_NAME) when there is a notebook to run, else why not
    message: str = ""
    path: Path | None = None
    notebook: nbformat.NotebookNode | None = None
    digest: str = ""  # sha256 of the submitted bytes; keys the stored result
    display_name: str = ""  # the student's name as the LMS (or the roster) gives it, any Unicode; "" when unknown
    late: bool | None = None  # the LMS's own late mark; None when it does not say
    superseded: list[str] = field(default_factory=list)  # the student's other files, not graded


@dataclass
class Intake:
    """Every student's submission, and what the summary says about the download."""

    submissions: list[Submission]
    layout: str  # the detected layout's label
    unmatched: list[str] = field(default_factory=list)  # entries that fit no layout: not graded
    not_in_roster: list[str] = field(default_factory=list)  # student ids with a submission but no roster row


def ascii_id(name: str) -> str:
    """A printable, path-safe, ASCII student id, the same for the same name on every run.

    Accents are dropped (Müller -> Muller); a name with no Latin letters at all becomes
    ``s-`` and a hash of it. The name itself is kept as the display name.
    """
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    plain = re.sub(r"[^A-Za-z0-9.@+-]+", "_", plain).strip("._")
    if not re.search(r"[A-Za-z0-9]", plain):
        return "s-" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:10]
    return plain[:100]


def member_name(member: zipfile.ZipInfo) -> str:
    """A zip member's name as its author wrote it: UTF-8 names without the UTF-8 flag are common
    (Moodle's zips have them), and Python reads those as cp437 (Müller -> M├╝ller)."""
    name = member.filename
    if not member.flag_bits & 0x800:
        try:
            return name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_notebook(path: Path) -> tuple[Status, str, nbformat.NotebookNode | None, str]:
    """(status, message, notebook, digest) for one submitted file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Status.UNREADABLE, f"cannot read {path.name}: {exc.strerror}", None, ""
    digest = _digest(data)
    if not data.strip():
        return Status.EMPTY_FILE, f"{path.name} is empty", None, digest
    if len(data) > MAX_NOTEBOOK_BYTES:
        return Status.TOO_LARGE, f"{path.name} is larger than {MAX_NOTEBOOK_BYTES >> 20} MB", None, digest
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return Status.INVALID_JSON, f"{path.name} is not a notebook (not valid JSON: {exc})", None, digest
    if not isinstance(raw, dict) or "nbformat" not in raw:
        return Status.INVALID_NOTEBOOK, f"{path.name} is JSON but not a Jupyter notebook", None, digest
    try:
        invalid: dict[str, Exception] = {}  # reads validates (once) and reports here instead of raising
        nb = nbformat.reads(data.decode("utf-8"), as_version=4, capture_validation_error=invalid)
        if invalid:
            raise invalid["ValidationError"]
    except Exception as exc:  # noqa: BLE001 (nbformat raises many kinds)
        return Status.INVALID_NOTEBOOK, f"{path.name} is not a valid notebook: {str(exc)[:300]}", None, digest
    if raw.get("nbformat", 4) < 4:
        return Status.OK, f"{path.name} was nbformat {raw['nbformat']}; upgraded to 4", nb, digest
    return Status.OK, "", nb, digest


def safe_extract(archive: Path, dest: Path) -> dict[str, tuple[Status, str]]:
    """Extract the safe members of a zip into ``dest``.

    Unsafe members are skipped, never written: absolute or ``..`` paths (zip-slip),
    links, and members that unpack to far more than they pack (zip bombs; the sizes
    in the header are not trusted). Returns {first path component: (status, message)}
    for the skipped ones, so that only the student they belong to is affected.
    """
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise IntakeError(f"{archive} is not a readable zip file: {exc}") from exc
    problems: dict[str, tuple[Status, str]] = {}
    base = dest.resolve()
    total = 0
    with zf:
        members = zf.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise IntakeError(f"{archive} has more than {MAX_ZIP_MEMBERS} members")
        for member in members:
            name = member_name(member)
            owner = name
            target = (base / name).resolve()
            if name.startswith("/") or ".." in Path(name).parts or not target.is_relative_to(base):
                problems[owner] = (Status.UNSAFE_ARCHIVE, (f"the upload contains the unsafe path {name!r} (zip-slip); "
                                                     "it was not extracted"))
                continue
            if stat.S_ISLNK(member.external_attr >> 16):
                problems[owner] = (Status.UNSAFE_ARCHIVE,
                                   f"the upload contains a symbolic link {name!r}; it was not extracted")
                continue
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            if member.file_size > MAX_NOTEBOOK_BYTES or (
                    member.file_size > 1 << 20 and member.file_size > MAX_ZIP_RATIO * max(1, member.compress_size)):
                problems[owner] = (Status.ZIP_BOMB, f"{name!r} would unpack to {member.file_size} bytes; refused")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            with zf.open(member) as src, open(target, "wb") as out:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > MAX_NOTEBOOK_BYTES or total + written > MAX_ZIP_BYTES:
                        break
                    out.write(chunk)
            total += written
            if written > MAX_NOTEBOOK_BYTES or total > MAX_ZIP_BYTES:
                target.unlink()
                problems[owner] = (Status.ZIP_BOMB, f"{name!r} unpacks to more than its header says; refused")
                continue
            try:  # the upload's own time: which of a student's files is the latest
                stamp = time.mktime((*member.date_time, 0, 0, -1))
                os.utime(target, (stamp, stamp))
            except (OverflowError, ValueError, OSError):
                pass
    return problems




def _is_junk(name: str) -> bool:
    return name.startswith(".") or name in JUNK


def _unwrap(root: Path, assignment: str) -> tuple[Path, set[str]]:
    """The folder that holds the students: below ``submitted/`` or one wrapping folder of the class."""
    wrappers: set[str] = set()
    while True:
        entries = [p for p in root.iterdir() if not _is_junk(p.name)]
        if (root / "submitted").is_dir():
            wrappers.add("submitted")
            root = root / "submitted"
            continue
        only = entries[0] if len(entries) == 1 else None
        if (only is not None and only.is_dir() and not any(only.glob("*.ipynb")) and not (only / assignment).is_dir()
                and not any(layout.claim_all([(only.name, True)], root) for layout in lms_layouts())):
            wrappers.add(only.name)
            root = only
            continue
        return root, wrappers


def _by_owner(problems: dict[str, tuple[Status, str]],
              wrappers: set[str]) -> dict[str, tuple[tuple[Status, str], bool]]:
    """Member problems keyed by the top-level entry they are in: {name: (problem, is a folder)}."""
    owned = {}
    for name, problem in problems.items():
        parts = [p for p in PurePosixPath(name).parts if p not in ("/", "")]
        while parts and parts[0] in wrappers:
            parts = parts[1:]
        if not parts or parts[0] == "..":
            log.warning("skipped an unsafe member of the upload that belongs to no student: %s", problem[1])
            continue
        owned[parts[0]] = (problem, len(parts) > 1)
    return owned


@dataclass
class _File:
    path: Path
    filename: str  # as the student named it (relative inside a folder)
    order: tuple
    late: bool | None
    attempt: str = ""


def _files(root: Path, name: str, claim: Claim, layout: Layout) -> list[_File]:
    """The files of one claimed entry: itself, or everything in the student's folder."""
    entry = root / name
    if not claim.gradable:  # the LMS's receipts and online-text pages
        return []
    if layout.name == "nbgrader":
        entry = entry / claim.filename
    if not entry.is_dir():
        return [_File(entry, claim.filename or name, (*claim.order, _mtime(entry), name), claim.late, claim.attempt)] \
            if entry.exists() else []
    found = []
    for path in sorted(entry.rglob("*")):
        rel = path.relative_to(entry)
        if path.is_file() and not any(_is_junk(part) for part in rel.parts):
            # a shallower file wins over a copy deeper in the folder, then the newer one
            found.append(_File(path, rel.as_posix(), (*claim.order, -len(rel.parts), _mtime(path), rel.as_posix()),
                               claim.late))
    return found


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _unpack_nested(files: list[_File], scratch: Path) -> tuple[list[_File], tuple[Status, str] | None]:
    """A student who uploaded a zip instead of a notebook: its notebooks, unpacked safely."""
    if any(f.path.suffix.lower() == ".ipynb" for f in files):
        return files, None
    found: list[_File] = []
    for number, upload in enumerate(f for f in files if f.path.suffix.lower() == ".zip"):
        if not zipfile.is_zipfile(upload.path):
            continue
        dest = scratch / str(number)
        try:
            problems = safe_extract(upload.path, dest)
        except IntakeError as exc:
            return files, (Status.UNSAFE_ARCHIVE, str(exc))
        if problems:
            return files, next(iter(problems.values()))
        for path in sorted(dest.rglob("*.ipynb")):
            rel = path.relative_to(dest)
            if path.is_file() and not any(_is_junk(part) for part in rel.parts):
                found.append(_File(path, f"{upload.filename}/{rel.as_posix()}",
                                   (*upload.order, -len(rel.parts), rel.as_posix()), upload.late, upload.attempt))
    return files + found, None


def choose(files: list[_File], notebook_name: str) -> tuple[_File | None, Status, str, list[_File]]:
    """The notebook that counts: (file, status, message, the student's other notebooks).

    Files named like the assignment's notebook (allowing an LMS's ``-N`` or a browser's ``(N)``)
    come first and the latest of them counts; a single notebook under another name is graded as
    ``wrong_name``; several differently named ones, none of them the assignment's, are ambiguous.
    """
    notebooks = [f for f in files if f.filename.lower().endswith(".ipynb")]
    if not notebooks:
        return None, Status.MISSING, f"no notebook submitted (expected {notebook_name}.ipynb)", []
    latest = max(f.attempt for f in notebooks)  # an earlier attempt's files never count
    older = [f for f in notebooks if f.attempt != latest]
    notebooks = [f for f in notebooks if f.attempt == latest]
    wanted = notebook_name.lower()
    named = [f for f in notebooks if base_stem(f.filename).lower() == wanted]
    stems = {base_stem(f.filename).lower() for f in notebooks}
    pool = named or (notebooks if len(stems) == 1 else [])
    if not pool:
        names = ", ".join(sorted(PurePosixPath(f.filename).name for f in notebooks)[:SHOWN])
        return None, Status.SEVERAL_NOTEBOOKS, f"several notebooks ({names}) and none named {notebook_name}.ipynb", []
    chosen = max(pool, key=lambda f: f.order)
    others = older + [f for f in notebooks if f is not chosen]
    if named:
        return chosen, Status.OK, "", others
    return chosen, Status.WRONG_NAME, (f"graded {PurePosixPath(chosen.filename).name}; the expected name is " \
                                 f"{notebook_name}.ipynb"), others


def _detect(root: Path, entries: list[tuple[str, bool]], layouts: list[Layout]) -> tuple[Layout, dict[str, Claim]]:
    """The layout that recognises the most entries; on a tie the more specific one."""
    best: tuple[Layout, dict[str, Claim]] | None = None
    for layout in layouts:
        claims = layout.claim_all(entries, root)
        if best is None or len(claims) > len(best[1]):
            best = layout, claims
    assert best is not None
    return best


def _all_files(root: Path) -> list[tuple[str, bool]]:
    return [(p.relative_to(root).as_posix(), False) for p in sorted(root.rglob("*"))
            if p.is_file() and not any(_is_junk(part) for part in p.relative_to(root).parts)]


def collect(source: Path, assignment: str, notebook_name: str | None = None, workdir: Path | None = None,
            roster: Roster | None = None, pattern: re.Pattern[str] | None = None,
            layout: Layout | None = None) -> Intake:
    """Every student's submission in a folder or zip, each checked and given a status.

    ``layout``: the folder's layout as known (a hub course's submitted/), not detected: its entries that the
    layout does not claim are neither graded nor listed."""
    notebook_name = notebook_name or assignment
    if not source.exists():
        raise IntakeError(f"no submissions at {source}: there is no such file or folder")
    with tempfile.TemporaryDirectory(prefix="pdl-intake-", dir=workdir) as scratch:
        return _collect(source, assignment, notebook_name, Path(scratch), roster, pattern, layout)


def _collect(source: Path, assignment: str, notebook_name: str, scratch: Path, roster: Roster | None,
             pattern: re.Pattern[str] | None, known: Layout | None = None) -> Intake:
    problems: dict[str, tuple[tuple[Status, str], bool]] = {}
    root = source
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise IntakeError(f"{source} is neither a folder of submissions nor a zip file")
        root = scratch / "download"
        root.mkdir()
        raw_problems = safe_extract(source, root)
        root, wrappers = _unwrap(root, assignment)
        problems = _by_owner(raw_problems, wrappers)
    elif source.is_dir() and known is not None:
        root = source
    elif source.is_dir():
        root, _ = _unwrap(source, assignment)
    else:
        raise IntakeError(f"{source} is neither a folder of submissions nor a zip file")
    if known is not None:
        entries = [(p.name, p.is_dir()) for p in sorted(root.iterdir()) if not _is_junk(p.name)]
        layouts: list[Layout] = [known]
    elif pattern is not None:
        entries = _all_files(root)
        layouts = [Pattern(pattern)]
    else:
        entries = [(p.name, p.is_dir()) for p in sorted(root.iterdir()) if not _is_junk(p.name)]
        layouts = detectable(assignment)
    present = {name for name, _ in entries}
    entries += [(name, is_dir) for name, (_, is_dir) in sorted(problems.items()) if name not in present]
    if not entries:
        raise IntakeError(f"no submissions to grade: {source} is empty")
    layout, claims = _detect(root, entries, layouts)
    unmatched = [name for name, _ in entries if name not in claims] if known is None else []
    for name, claim in claims.items():
        if claim.also and name not in problems:
            problems[name] = ((Status.AMBIGUOUS_OWNER, f"the file {name!r} is named as the LMS names both student "
                               f"{claim.student}'s and student {claim.also}'s files; refused (upload it under "
                               "another name)"), False)
    if not claims:
        shown = ", ".join(repr(name) for name in unmatched[:SHOWN]) + (", ..." if len(unmatched) > SHOWN else "")
        if known is not None:
            raise IntakeError(f"nothing to grade in {source}: no student folder there holds {assignment}/ "
                              f"(nbgrader collect {assignment} puts them there)")
        if pattern is not None:
            raise IntakeError(f"no submissions found in {source}: --id-pattern {pattern.pattern!r} matches none of "
                              f"its {len(entries)} files ({shown})")
        raise IntakeError(f"no submissions found in {source}: none of its {len(entries)} entries ({shown}) is named "
                          "as Canvas, Moodle or Blackboard name their downloads, nor is a student folder or "
                          "nbgrader's submitted/ tree; for another LMS, pass --id-pattern REGEX")

    by_student: dict[str, list[tuple[str, Claim]]] = {}
    for name, claim in claims.items():
        by_student.setdefault(claim.student, []).append((name, claim))
    roster_names = {s.student_id: s.display_name for s in roster.students} if roster else {}
    submissions: list[Submission] = []
    taken: set[str] = set()
    for raw_student in sorted(by_student):
        owned = by_student[raw_student]
        student = base = ascii_id(raw_student)
        number = 1
        while student in taken:  # two raw names mapped to one id
            number += 1
            student = f"{base}_{number}"
        taken.add(student)
        display = roster_names.get(student) or next((c.display_name for _, c in owned if c.display_name), "")
        if layout.name in ("folders", "nbgrader") and not display and raw_student != student:
            display = raw_student.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        note = f"folder name {raw_student!r} was stored as {student!r}" \
            if layout.name in ("folders", "nbgrader") and student != raw_student else ""
        sub = Submission(student, Status.OK, display_name=display,
                         late=next((c.late for _, c in owned if c.late is not None), None))
        submissions.append(sub)
        refused = next((problems[name][0] for name, _ in owned if name in problems), None)
        files = [f for name, claim in owned for f in _files(root, name, claim, layout)]
        if refused is None:
            files, refused = _unpack_nested(files, scratch / "nested" / student)
        if refused is not None:
            sub.status, sub.message = refused[0], "; ".join(filter(None, [refused[1], note]))
            continue
        chosen, status, message, others = choose(files, notebook_name)
        sub.superseded = [f.filename for f in sorted(others, key=lambda f: f.order)]
        if others and chosen is not None:
            message = "; ".join(filter(None, [message, (f"{len(others) + 1} notebooks submitted: graded the latest, "
                                              f"{chosen.filename}; not graded: {', '.join(sub.superseded)}")]))
        if chosen is None:
            sub.status, sub.message = status, "; ".join(filter(None, [message, note]))
            continue
        read_status, read_message, nb, digest = read_notebook(chosen.path)
        sub.status = read_status if read_status != Status.OK else status
        sub.message = "; ".join(filter(None, [message, read_message, note]))
        where = chosen.path.relative_to(root) if chosen.path.is_relative_to(root) else Path(chosen.filename)
        sub.path, sub.notebook, sub.digest = source / where, nb, digest  # the path as in the download
        sub.late = chosen.late if chosen.late is not None else sub.late
    intake = Intake(submissions, layout.label, unmatched)
    if roster is not None:
        on_roster = {s.student_id for s in roster.students}
        intake.not_in_roster = sorted(s.student_id for s in submissions if s.student_id not in on_roster)
        for student in roster.students:
            if student.student_id not in taken:
                submissions.append(Submission(student.student_id, Status.MISSING, "no submission (on the roster, but "
                                              "nothing in the download)", display_name=student.display_name))
    return intake
