"""The class list, read from the LMS's own export: who should have submitted, under which id and name.

Accepted as they come from the LMS: a Canvas gradebook export (``Student, ID, SIS User ID, SIS Login ID,
Section, <assignments…>``; the id is ``ID``, the Canvas user id that its submission downloads carry;
rows without an ID such as "Points Possible" are kept but are no students), a Moodle grading worksheet
(``Identifier`` = ``Participant <id>``, ``Full name``, …; the id is the participant id of its downloads),
a Blackboard Grade Center export (``Username``), or any CSV with a ``student_id`` column (optionally
``name``), or one id per line. The file's rows and columns are kept as read, so that lms_export.py can
write the same file back with one column filled.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from .intake import ascii_id
from .model import Roster, RosterStudent


class RosterError(RuntimeError):
    """A roster that cannot be read or understood (an instructor error)."""


_PARTICIPANT = re.compile(r"(\d+)\s*$")


def _cell(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""


def read_roster(path: Path) -> Roster:
    """The roster at ``path``; RosterError says in one line what is wrong with it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RosterError(f"cannot read the roster {path}: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterError(f"the roster {path} is not UTF-8 text (byte {exc.start}); export it again as CSV "
                          "(Canvas and Moodle write UTF-8)") from exc
    if not text.strip():
        raise RosterError(f"the roster {path} is empty")
    newline = "\r\n" if "\r\n" in text else "\n"
    first = text.lstrip().splitlines()[0]
    if "," not in first:  # one id per line
        ids = [line.strip() for line in text.splitlines() if line.strip()]
        rows = [[i] for i in ids]
        return Roster(path, "list", [], rows, [RosterStudent(ascii_id(i), "", n) for n, i in enumerate(ids)], newline,
                      data.startswith(b"\xef\xbb\xbf"))
    try:
        table = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise RosterError(f"the roster {path} is not a readable CSV file: {exc}") from exc
    header, rows = table[0], table[1:]  # as read: written back unchanged
    roster = Roster(path, "list", header, rows, newline=newline, bom=data.startswith(b"\xef\xbb\xbf"))
    lower = {h.strip().lower(): i for i, h in enumerate(header)}
    if "identifier" in lower and "grade" in lower:
        roster.kind = "moodle"
        name = lower.get("full name")
        for n, row in enumerate(rows):
            if match := _PARTICIPANT.search(_cell(row, lower["identifier"])):
                roster.students.append(RosterStudent(match.group(1), _cell(row, name), n))
    elif "student" in lower and "id" in lower:
        roster.kind = "canvas"
        for n, row in enumerate(rows):
            if _cell(row, lower["id"]):  # "Points Possible" and other rows without an ID are no students
                roster.students.append(RosterStudent(ascii_id(_cell(row, lower["id"])), _cell(row, lower["student"]), n))
    elif "username" in lower:
        roster.kind = "blackboard"
        first_name, last_name = lower.get("first name"), lower.get("last name")
        for n, row in enumerate(rows):
            if user := _cell(row, lower["username"]):
                name = " ".join(filter(None, [_cell(row, first_name), _cell(row, last_name)]))
                roster.students.append(RosterStudent(ascii_id(user), name, n))
    elif "student_id" in lower:
        name = next((lower[k] for k in ("name", "display_name", "full name") if k in lower), None)
        for n, row in enumerate(rows):
            if student := _cell(row, lower["student_id"]):
                roster.students.append(RosterStudent(ascii_id(student), _cell(row, name), n))
    else:
        shown = ", ".join(header[:8])
        raise RosterError(f"the roster {path} has no column that identifies students (a Canvas gradebook export "
                          f"has Student and ID, a Moodle grading worksheet Identifier, others student_id); "
                          f"its columns: {shown}")
    if not roster.students:
        raise RosterError(f"the roster {path} ({roster.label}) lists no students")
    return roster
