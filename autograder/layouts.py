"""How each LMS names the files of a submissions download, and which student each file belongs to.

A layout looks at the top-level entries of a download (names only: refused zip members are
classified too) and claims the ones it recognises:

- ``canvas``: flat ``<name>[_late]_<user id>_<attachment id>_<file>``, the file ``-N``-suffixed when a student
  uploaded the same name again; the id is the Canvas user id.
- ``moodle``: ``<Full Name>_<participant id>_assignsubmission_<plugin>_`` folders ("submissions in folders"),
  or the same prefix on flat files; the id is the participant id of the grading worksheet.
- ``blackboard``: flat ``<assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>[_<file>]``; the ``.txt`` without a
  file is Blackboard's receipt (it names the student).
- ``nbgrader``: ``<student>/<assignment>/<notebook>.ipynb`` (nbgrader's submitted/ tree).
- ``folders``: ``<student>/<notebook>.ipynb``, one folder per student.
- ``pattern``: ``--id-pattern REGEX`` on each file's path, with a ``student_id`` group (as nbgrader's zip_collect).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

JUNK = {"__MACOSX", "Thumbs.db", "desktop.ini", ".DS_Store", ".ipynb_checkpoints"}


@dataclass(frozen=True)
class Claim:
    """A top-level entry that a layout recognises: whose it is, and what the LMS says about it."""

    student: str  # the LMS's own id (user id, participant id, username, folder name)
    display_name: str = ""
    late: bool | None = None
    order: tuple = ()  # larger is newer, among one student's files
    filename: str = ""  # the student's own file name, the LMS's prefix removed ("" for a folder)
    gradable: bool = True  # False: the LMS's own files (receipts, online text)
    attempt: str = ""  # the LMS's attempt (Blackboard's timestamp): only the latest attempt's files count
    also: str = ""  # another student the name also fits (a forged name): the entry is refused, not graded


class Layout:
    name = ""
    label = ""

    def claim(self, name: str, is_dir: bool, root: Path) -> Claim | None:
        raise NotImplementedError

    def claim_all(self, entries: list[tuple[str, bool]], root: Path) -> dict[str, Claim]:
        found = {}
        for name, is_dir in entries:
            claim = self.claim(name, is_dir, root)
            if claim is not None:
                found[name] = claim
        return found


_CANVAS = re.compile(r"^(?P<name>[^_/]+?)(?P<late>_late)?_(?P<uid>\d+)_(?:(?P<aid>\d+)_(?P<file>.+)|(?P<kind>text|link)\.html)$",
                     re.IGNORECASE)
_RENAMED = re.compile(r"(?:-(\d+)| ?\((\d+)\))$")  # Canvas's ex01-1.ipynb, a browser's "ex01 (1).ipynb"


def resubmission_number(filename: str) -> int:
    """The N of ``name-N.ipynb`` or ``name (N).ipynb``; 0 when there is none."""
    match = _RENAMED.search(PurePosixPath(filename).stem)
    return int(match.group(1) or match.group(2)) if match else 0


def base_stem(filename: str) -> str:
    """A file's stem without the copy number an LMS or a browser added."""
    return _RENAMED.sub("", PurePosixPath(filename).stem)


class Canvas(Layout):
    name, label = "canvas", "Canvas (Download Submissions)"

    def claim(self, name: str, is_dir: bool, root: Path) -> Claim | None:
        match = _CANVAS.match(name)
        if is_dir or not match:
            return None
        filename = match["file"] or ""
        return Claim(match["uid"], match["name"], bool(match["late"]), (resubmission_number(filename),),
                     filename, gradable=bool(filename))


# non-greedy: Moodle writes "<name>_<id>_assignsubmission_<plugin>_" first; the rest is the student's file name
_MOODLE = re.compile(r"^(?P<name>.*?)_(?P<pid>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.*)$", re.DOTALL)
_MOODLE_PREFIX = re.compile(r"_(?P<pid>\d+)_assignsubmission_[a-z]+_")


class Moodle(Layout):
    name, label = "moodle", "Moodle (Download all submissions)"

    def claim(self, name: str, is_dir: bool, root: Path) -> Claim | None:
        match = _MOODLE.match(name)
        if not match or (is_dir and match["file"]) or (not is_dir and not match["file"]):
            return None
        display = match["name"]
        # a file named as Moodle names another participant's ("x_1001_assignsubmission_file_...") fits two students
        others = {m["pid"] for m in _MOODLE_PREFIX.finditer(name)} - {match["pid"]}
        return Claim(match["pid"], "" if display == "Participant" else display, None, (), match["file"],
                     gradable=match["plugin"] == "file", also=min(others, default=""))


_BLACKBOARD = re.compile(r"^(?P<head>.+)_attempt_(?P<ts>\d{4}(?:-\d{2}){5})(?:_(?P<file>.+)|(?P<receipt>\.txt))$", re.DOTALL)
_RECEIPT_NAME = re.compile(r"^Name:\s*(?P<name>.*?)\s*\((?P<user>[^()]+)\)\s*$", re.MULTILINE)


class Blackboard(Layout):
    name, label = "blackboard", "Blackboard (Assignment File Download)"

    def claim(self, name: str, is_dir: bool, root: Path) -> Claim | None:
        raise AssertionError("claim_all splits the head: the assignment name is the same in every file")

    def claim_all(self, entries: list[tuple[str, bool]], root: Path) -> dict[str, Claim]:
        matches = {name: m for name, is_dir in entries if not is_dir and (m := _BLACKBOARD.match(name))}
        heads = {m["head"] for m in matches.values()}
        # ``<assignment>_<username>``: both may hold underscores, but the assignment is the same in every
        # file, so it is the common prefix of the heads (up to an underscore); alone, the last part is the user
        prefix = os.path.commonprefix(sorted(heads)) if len(heads) > 1 else ""
        prefix = prefix[:prefix.rfind("_") + 1] if "_" in prefix else ""
        names = {}
        for name, match in matches.items():
            if match["receipt"]:
                names.update(self._receipt_name(root / name))
        found = {}
        for name, match in matches.items():
            head = match["head"]
            user = head[len(prefix):] if prefix and head.startswith(prefix) else head.rsplit("_", 1)[-1]
            found[name] = Claim(user, names.get(user, ""), None, (match["ts"],), match["file"] or "",
                                gradable=not match["receipt"], attempt=match["ts"])
        return found

    @staticmethod
    def _receipt_name(path: Path) -> dict[str, str]:
        """Blackboard's receipt starts ``Name: Jane Doe (jdoe)``: the student's name for their username."""
        try:
            text = path.read_text(encoding="utf-8", errors="replace")[:4096]
        except OSError:
            return {}
        match = _RECEIPT_NAME.search(text)
        return {match["user"].strip(): match["name"]} if match else {}


class Nbgrader(Layout):
    """``<student>/<assignment>/``: recognised by that shape, so a student folder that holds only other
    assignments' folders is this student's (missing for this assignment), not a folder of notebooks."""

    name, label = "nbgrader", "nbgrader submitted/ tree"

    def __init__(self, assignment: str):
        self.assignment = assignment

    def claim(self, name: str, is_dir: bool, root: Path) -> Claim | None:
        if is_dir and (root / name / self.assignment).is_dir():
            return Claim(name, filename=self.assignment)
        return None

    def claim_all(self, entries: list[tuple[str, bool]], root: Path) -> dict[str, Claim]:
        found = super().claim_all(entries, root)
        if not found:  # no student has this assignment's folder: not nbgrader's tree (or nothing to grade)
            return found
        for name, is_dir in entries:
            if is_dir and name not in found and _only_folders(root / name):
                found[name] = Claim(name, filename=self.assignment)
        return found


def _only_folders(folder: Path) -> bool:
    """Every entry of ``folder`` is a folder (nbgrader's ``<student>/<assignment>/``), and there is one."""
    try:
        entries = [p for p in folder.iterdir() if not p.name.startswith(".") and p.name not in JUNK]
    except OSError:
        return False
    return bool(entries) and all(p.is_dir() for p in entries)


class Folders(Layout):
    name, label = "folders", "one folder per student"

    def claim(self, name: str, is_dir: bool, root: Path) -> Claim | None:
        return Claim(name) if is_dir else None


class Pattern(Layout):
    """``--id-pattern``: a regular expression with a ``student_id`` group, searched in each file's path.

    Optional groups: ``name`` (or ``first_name`` and ``last_name``), ``timestamp`` (newer sorts later),
    ``late`` (non-empty when late). Files it does not match are listed, not graded.
    """

    name, label = "pattern", "--id-pattern"

    def __init__(self, regex: re.Pattern[str]):
        self.regex = regex

    def claim(self, name: str, is_dir: bool, root: Path) -> Claim | None:
        match = self.regex.search(name)
        if match is None or not match.group("student_id"):
            return None
        groups = match.groupdict()
        display = groups.get("name") or " ".join(filter(None, [groups.get("first_name"), groups.get("last_name")]))
        late = bool(groups["late"]) if "late" in groups else None
        stamp = groups.get("timestamp") or ""
        return Claim(match.group("student_id"), display or "", late, (stamp,), PurePosixPath(name).name, attempt=stamp)


class PatternError(ValueError):
    """An --id-pattern that cannot be used."""


def compile_pattern(text: str) -> re.Pattern[str]:
    try:
        regex = re.compile(text)
    except re.error as exc:
        raise PatternError(f"--id-pattern {text!r} is not a regular expression: {exc}") from exc
    if "student_id" not in regex.groupindex:
        raise PatternError(f"--id-pattern {text!r} has no (?P<student_id>...) group")
    return regex


def lms_layouts() -> list[Layout]:
    """The layouts that recognise an LMS's own names."""
    return [Canvas(), Moodle(), Blackboard()]


def detectable(assignment: str) -> list[Layout]:
    """The layouts tried when no pattern is given, the more specific first (they win a tie)."""
    return [*lms_layouts(), Nbgrader(assignment), Folders()]
