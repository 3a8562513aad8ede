"""Folder or LMS zip -> one checked Submission per student.

Accepted layouts: ``<dir>/<student>/<notebook>.ipynb``; nbgrader's
``submitted/<student>/<assignment>/<notebook>.ipynb`` (``<dir>`` may be
``submitted`` itself or hold it); and a .zip of either. Every problem with one
student's files becomes that student's status and message; none stops the batch.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

log = logging.getLogger("pdl-grade")
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
MAX_ZIP_BYTES = 2 * 1024 ** 3  # uncompressed total
MAX_ZIP_RATIO = 200  # a zip bomb compresses far better than notebooks do
MAX_ZIP_MEMBERS = 100_000


class IntakeError(RuntimeError):
    """The submissions as a whole cannot be read (an instructor error)."""


@dataclass
class Submission:
    student_id: str
    status: str  # "ok" or a failure reason
    message: str = ""
    path: Path | None = None
    notebook: nbformat.NotebookNode | None = None
    digest: str = ""  # sha256 of the submitted bytes; keys the stored result


def _safe_student_id(name: str) -> str:
    """Folder names can be anything (even non-UTF-8 bytes); ids must be printable and path-safe."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    text = re.sub(r"[^\w.@+-]", "_", text).strip("._") or "student"
    return text[:100]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_notebook(path: Path) -> tuple[str, str, nbformat.NotebookNode | None, str]:
    """(status, message, notebook, digest) for one submitted file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return "unreadable", f"cannot read {path.name}: {exc.strerror}", None, ""
    digest = _digest(data)
    if not data.strip():
        return "empty_file", f"{path.name} is empty", None, digest
    if len(data) > MAX_NOTEBOOK_BYTES:
        return "too_large", f"{path.name} is larger than {MAX_NOTEBOOK_BYTES >> 20} MB", None, digest
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return "invalid_json", f"{path.name} is not a notebook (not valid JSON: {exc})", None, digest
    if not isinstance(raw, dict) or "nbformat" not in raw:
        return "invalid_notebook", f"{path.name} is JSON but not a Jupyter notebook", None, digest
    try:
        invalid: dict[str, Exception] = {}  # reads validates (once) and reports here instead of raising
        nb = nbformat.reads(data.decode("utf-8"), as_version=4, capture_validation_error=invalid)
        if invalid:
            raise invalid["ValidationError"]
    except Exception as exc:  # noqa: BLE001 (nbformat raises many kinds)
        return "invalid_notebook", f"{path.name} is not a valid notebook: {str(exc)[:300]}", None, digest
    if raw.get("nbformat", 4) < 4:
        return "ok", f"{path.name} was nbformat {raw['nbformat']}; upgraded to 4", nb, digest
    return "ok", "", nb, digest


def _pick_notebook(folder: Path, notebook_name: str) -> tuple[Path | None, str, str]:
    """The student's notebook in ``folder``: (path, status, message)."""
    wanted = folder / f"{notebook_name}.ipynb"
    if wanted.is_file():
        return wanted, "ok", ""
    found = sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and p.is_file())
    if not found:
        return None, "missing", f"no notebook submitted (expected {notebook_name}.ipynb)"
    named = [p for p in found if p.name == f"{notebook_name}.ipynb"]
    if len(named) == 1:  # e.g. inside the folder of an unpacked upload
        return named[0], "ok", ""
    if len(found) > 1:
        names = ", ".join(p.name for p in found[:5])
        return None, "several_notebooks", f"several notebooks ({names}) and none named {notebook_name}.ipynb"
    return found[0], "wrong_name", f"graded {found[0].name}; the expected name is {notebook_name}.ipynb"


def _student_folders(root: Path, assignment: str) -> list[tuple[str, Path]]:
    if (root / "submitted").is_dir():
        root = root / "submitted"
    folders = []
    for child in sorted(root.iterdir(), key=lambda p: p.name):
        if child.name.startswith(".") or child.name == "__MACOSX" or not child.is_dir():
            continue
        nbgrader_layout = child / assignment
        folders.append((child.name, nbgrader_layout if nbgrader_layout.is_dir() else child))
    return folders


def safe_extract(archive: Path, dest: Path) -> dict[str, tuple[str, str]]:
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
    problems: dict[str, tuple[str, str]] = {}
    base = dest.resolve()
    total = 0
    with zf:
        members = zf.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise IntakeError(f"{archive} has more than {MAX_ZIP_MEMBERS} members")
        for member in members:
            name = member.filename
            owner = name
            target = (base / name).resolve()
            if name.startswith("/") or ".." in Path(name).parts or not target.is_relative_to(base):
                problems[owner] = ("unsafe_archive", f"the upload contains the unsafe path {name!r} (zip-slip); "
                                                     "it was not extracted")
                continue
            if stat.S_ISLNK(member.external_attr >> 16):
                problems[owner] = ("unsafe_archive", f"the upload contains a symbolic link {name!r}; it was not extracted")
                continue
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            if member.file_size > MAX_NOTEBOOK_BYTES or (
                    member.file_size > 1 << 20 and member.file_size > MAX_ZIP_RATIO * max(1, member.compress_size)):
                problems[owner] = ("zip_bomb", f"{name!r} would unpack to {member.file_size} bytes; refused")
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
                problems[owner] = ("zip_bomb", f"{name!r} unpacks to more than its header says; refused")
    return problems


def _unpack_nested(folder: Path) -> tuple[str, str] | None:
    """A student who uploaded a zip instead of a notebook: unpack it in place, safely."""
    if any(folder.rglob("*.ipynb")):
        return None
    for archive in sorted(folder.glob("*.zip")):
        if zipfile.is_zipfile(archive):
            problems = safe_extract(archive, folder / archive.stem)
            if problems:
                return next(iter(problems.values()))
    return None


def _by_student(problems: dict[str, tuple[str, str]], wrappers: set[str]) -> dict[str, tuple[str, str]]:
    """Member problems keyed by the student folder they are in."""
    owned = {}
    for name, problem in problems.items():
        parts = [p for p in Path(name).parts if p not in ("/", "")]
        while parts and parts[0] in wrappers:
            parts = parts[1:]
        if not parts or parts[0] == "..":
            log.warning("skipped an unsafe member of the upload that belongs to no student: %s", problem[1])
            continue
        owned[parts[0]] = problem
    return owned


def read_roster(path: Path) -> list[str]:
    """Student ids, one per line, or a CSV with a ``student_id`` column."""
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if lines and "," in lines[0]:
        header = [h.strip() for h in lines[0].split(",")]
        if "student_id" not in header:
            raise IntakeError(f"{path}: a CSV roster needs a student_id column")
        col = header.index("student_id")
        return [line.split(",")[col].strip() for line in lines[1:]]
    return lines


def collect(source: Path, assignment: str, notebook_name: str | None = None,
            workdir: Path | None = None, roster: list[str] | None = None) -> list[Submission]:
    """Every student's submission in a folder or zip, each checked and given a status."""
    notebook_name = notebook_name or assignment
    problems: dict[str, tuple[str, str]] = {}
    if source.is_file() and zipfile.is_zipfile(source):
        extracted = Path(tempfile.mkdtemp(prefix="pdl-intake-", dir=workdir))
        problems = safe_extract(source, extracted)
        entries = [p for p in extracted.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
        source = extracted
        # a zip that wraps the class in one top folder (a student folder holds notebooks directly)
        wrappers = {"submitted"}
        if len(entries) == 1 and entries[0].is_dir() and not any(entries[0].glob("*.ipynb")):
            source = entries[0]
            wrappers.add(entries[0].name)
        problems = _by_student(problems, wrappers)
    if not source.is_dir():
        raise IntakeError(f"{source} is neither a folder of submissions nor a zip file")
    submissions: list[Submission] = []
    seen: dict[str, int] = {}
    folders = _student_folders(source, assignment)
    for raw_name in sorted(set(problems) - {name for name, _ in folders}):
        folders.append((raw_name, None))  # everything this student sent was refused
    for raw_name, folder in folders:
        student = _safe_student_id(raw_name)
        if student in seen:  # two raw names mapped to one id
            seen[student] += 1
            student = f"{student}_{seen[student]}"
        seen.setdefault(student, 0)
        note = "" if student == raw_name else f"folder name {raw_name!r} was stored as {student!r}"
        refused = problems.get(raw_name) or (_unpack_nested(folder) if folder else None)
        if refused:
            submissions.append(Submission(student, refused[0], "; ".join(filter(None, [refused[1], note]))))
            continue
        path, status, message = _pick_notebook(folder, notebook_name)
        if path is None:
            submissions.append(Submission(student, status, "; ".join(filter(None, [message, note]))))
            continue
        read_status, read_message, nb, digest = read_notebook(path)
        status = read_status if read_status != "ok" else status
        message = "; ".join(filter(None, [message, read_message, note]))
        submissions.append(Submission(student, status, message, path, nb, digest))
    for student in roster or []:
        if student not in seen:
            submissions.append(Submission(student, "missing", "no submission (on the roster, but no folder)"))
    return submissions
