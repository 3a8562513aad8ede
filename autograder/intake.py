"""Folder or LMS zip -> one checked Submission per student.

Accepted layouts: ``<dir>/<student>/<notebook>.ipynb``; nbgrader's
``submitted/<student>/<assignment>/<notebook>.ipynb`` (``<dir>`` may be
``submitted`` itself or hold it); and a .zip of either. Every problem with one
student's files becomes that student's status and message; none stops the batch.
"""
from __future__ import annotations

import hashlib
import json
import re
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

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
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
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


def safe_extract(archive: Path, dest: Path) -> None:
    """Extract a zip, refusing absolute or ``..`` paths, links and zip bombs."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise IntakeError(f"{archive} is not a readable zip file: {exc}") from exc
    with zf:
        members = zf.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise IntakeError(f"{archive} has more than {MAX_ZIP_MEMBERS} members")
        total = sum(m.file_size for m in members)
        packed = max(1, sum(m.compress_size for m in members))
        if total > MAX_ZIP_BYTES or total / packed > MAX_ZIP_RATIO and total > 100 * 1024 * 1024:
            raise IntakeError(f"{archive} unpacks to {total} bytes from {packed}: refusing a possible zip bomb")
        base = dest.resolve()
        for member in members:
            name = member.filename
            target = (base / name).resolve()
            if name.startswith("/") or ".." in Path(name).parts or not target.is_relative_to(base):
                raise IntakeError(f"{archive} contains the unsafe path {name!r} (zip-slip); nothing was extracted from it")
            if stat.S_ISLNK(member.external_attr >> 16):
                raise IntakeError(f"{archive} contains a symbolic link {name!r}; refusing it")
        written = 0
        for member in members:
            target = base / member.filename
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(member) as src, open(target, "wb") as out:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > MAX_ZIP_BYTES:  # sizes in the header can lie
                        raise IntakeError(f"{archive} unpacks to more than {MAX_ZIP_BYTES} bytes; refusing it")
                    out.write(chunk)


def collect(source: Path, assignment: str, notebook_name: str | None = None,
            workdir: Path | None = None) -> list[Submission]:
    """Every student's submission in a folder or zip, each checked and given a status."""
    notebook_name = notebook_name or assignment
    if source.is_file() and zipfile.is_zipfile(source):
        extracted = Path(tempfile.mkdtemp(prefix="pdl-intake-", dir=workdir))
        safe_extract(source, extracted)
        entries = [p for p in extracted.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
        source = extracted
        # a zip that wraps the class in one top folder (a student folder holds notebooks directly)
        if len(entries) == 1 and entries[0].is_dir() and not any(entries[0].glob("*.ipynb")):
            source = entries[0]
    if not source.is_dir():
        raise IntakeError(f"{source} is neither a folder of submissions nor a zip file")
    submissions: list[Submission] = []
    seen: dict[str, int] = {}
    for raw_name, folder in _student_folders(source, assignment):
        student = _safe_student_id(raw_name)
        if student in seen:  # two raw names mapped to one id
            seen[student] += 1
            student = f"{student}_{seen[student]}"
        seen.setdefault(student, 0)
        note = "" if student == raw_name else f"folder name {raw_name!r} was stored as {student!r}"
        path, status, message = _pick_notebook(folder, notebook_name)
        if path is None:
            submissions.append(Submission(student, status, "; ".join(filter(None, [message, note]))))
            continue
        read_status, read_message, nb, digest = read_notebook(path)
        status = read_status if read_status != "ok" else status
        message = "; ".join(filter(None, [message, read_message, note]))
        submissions.append(Submission(student, status, message, path, nb, digest))
    return submissions
