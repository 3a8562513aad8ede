"""intake: one submitted file -> a status (read_notebook), zip safety (safe_extract), a download -> submissions.

The LMS file-name parsers are unit-tested in tests/test_lms.py (test_canvas_names, test_moodle_names, ...).
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder import intake
from autograder.intake import IntakeError, collect, read_notebook, safe_extract
from autograder.model import Roster, RosterStudent, Status

NAME = "ex01"


def notebook_bytes(text: str = "x = 1") -> bytes:
    cell = new_code_cell(text, id="cell-1")  # a fixed id: the same text gives the same bytes
    return nbformat.writes(new_notebook(cells=[cell])).encode()


def test_each_kind_of_bad_file_is_a_status(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = {"empty.ipynb": (b"  \n", Status.EMPTY_FILE, "is empty"),
             "text.ipynb": (b"{not json", Status.INVALID_JSON, "not valid JSON"),
             "latin1.ipynb": ('{"caf\xe9": 1}'.encode("latin-1"), Status.INVALID_JSON, "not valid JSON"),
             "other.ipynb": (b'{"cells": []}', Status.INVALID_NOTEBOOK, "JSON but not a Jupyter notebook"),
             "list.ipynb": (b"[1, 2]", Status.INVALID_NOTEBOOK, "JSON but not a Jupyter notebook"),
             "schema.ipynb": (json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                                          "cells": [{"cell_type": "code"}]}).encode(),
                              Status.INVALID_NOTEBOOK, "not a valid notebook")}
    for name, (data, status, words) in cases.items():
        (tmp_path / name).write_bytes(data)
        got, message, nb, digest = read_notebook(tmp_path / name)
        assert (got, nb) == (status, None) and words in message and name in message, (name, message)
        assert digest == hashlib.sha256(data).hexdigest()  # a resubmitted bad file is not graded again
    (tmp_path / "folder.ipynb").mkdir()
    assert read_notebook(tmp_path / "folder.ipynb")[:1] + read_notebook(tmp_path / "folder.ipynb")[2:] == \
        (Status.UNREADABLE, None, "")
    monkeypatch.setattr(intake, "MAX_NOTEBOOK_BYTES", 100)
    (tmp_path / "big.ipynb").write_bytes(notebook_bytes("x = 1" * 100))
    assert read_notebook(tmp_path / "big.ipynb")[0] is Status.TOO_LARGE


def test_a_notebook_reads_as_ok_and_an_old_one_is_upgraded(tmp_path: Path) -> None:
    data = notebook_bytes()
    (tmp_path / "good.ipynb").write_bytes(data)
    status, message, nb, digest = read_notebook(tmp_path / "good.ipynb")
    assert (status, message, nb.cells[0].source, digest) == (Status.OK, "", "x = 1", hashlib.sha256(data).hexdigest())
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": [
        {"cell_type": "code", "input": "y = 2", "language": "python", "outputs": [], "metadata": {}}]}]}
    (tmp_path / "old.ipynb").write_text(json.dumps(v3))
    status, message, nb, _ = read_notebook(tmp_path / "old.ipynb")
    assert status is Status.OK and "nbformat 3; upgraded to 4" in message and nb.cells[0].source == "y = 2"


def _zip(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 3, 1, 12, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def test_unsafe_members_are_refused_and_the_rest_extracted(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "download.zip", {
        "ann/ex01.ipynb": notebook_bytes(),
        "../escaped.ipynb": b"{}",
        "bob/../../escaped2.ipynb": b"{}",
        "/abs/ex01.ipynb": b"{}",
        "cat/ex01.ipynb": b"\0" * (2 << 20),  # 2 MiB of zeros packs ~1000x: a bomb's ratio
    }, links={"dan/ex01.ipynb": "/etc/passwd"})
    dest = tmp_path / "out"
    problems = safe_extract(archive, dest)
    assert {name: status for name, (status, _) in problems.items()} == {
        "../escaped.ipynb": Status.UNSAFE_ARCHIVE, "bob/../../escaped2.ipynb": Status.UNSAFE_ARCHIVE,
        "/abs/ex01.ipynb": Status.UNSAFE_ARCHIVE, "cat/ex01.ipynb": Status.ZIP_BOMB,
        "dan/ex01.ipynb": Status.UNSAFE_ARCHIVE}
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert written == ["download.zip", "out/ann/ex01.ipynb"]  # nothing outside dest, no link, no bomb
    assert (dest / "ann" / "ex01.ipynb").read_bytes() == notebook_bytes()
    # the upload's own time: it orders one student's files
    assert os.path.getmtime(dest / "ann" / "ex01.ipynb") == time.mktime((2026, 3, 1, 12, 0, 0, 0, 0, -1))


def test_a_zip_that_cannot_be_read_or_has_too_many_members_is_an_instructor_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(IntakeError, match="not a readable zip file"):
        safe_extract(tmp_path / "broken.zip", tmp_path / "a")
    monkeypatch.setattr(intake, "MAX_ZIP_MEMBERS", 2)
    archive = _zip(tmp_path / "many.zip", {f"s{i}/ex01.ipynb": b"{}" for i in range(3)})
    with pytest.raises(IntakeError, match="more than 2 members"):
        safe_extract(archive, tmp_path / "b")


def test_one_students_unsafe_member_costs_only_that_student(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "download.zip", {"class/ann/ex01.ipynb": notebook_bytes(),
                                               "class/bob/ex01.ipynb": notebook_bytes(),
                                               "class/bob/../../../x.ipynb": b"{}"})
    found = {s.student_id: s.status for s in collect(archive, NAME).submissions}
    assert found == {"ann": Status.OK, "bob": Status.UNSAFE_ARCHIVE}


def _write(folder: Path, files: dict[str, bytes], mtimes: dict[str, float] | None = None) -> Path:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    for name, stamp in (mtimes or {}).items():
        os.utime(folder / name, (stamp, stamp))
    return folder


def test_which_file_counts_in_a_students_folder(tmp_path: Path) -> None:
    nested = tmp_path / "nested.zip"
    _zip(nested, {"work/ex01.ipynb": notebook_bytes("from the zip")})
    folder = _write(tmp_path / "class", {
        "ann/ex01.ipynb": notebook_bytes("first"), "ann/ex01 (1).ipynb": notebook_bytes("newer copy"),
        "bob/homework.ipynb": notebook_bytes(),
        "cat/a.ipynb": notebook_bytes(), "cat/b.ipynb": notebook_bytes(),
        "dan/notes.txt": b"no notebook here",
        "eve/upload.zip": nested.read_bytes(),
    }, mtimes={"ann/ex01.ipynb": 1_000, "ann/ex01 (1).ipynb": 2_000})
    subs = {s.student_id: s for s in collect(folder, NAME).submissions}
    assert {k: s.status for k, s in subs.items()} == {
        "ann": Status.OK, "bob": Status.WRONG_NAME, "cat": Status.SEVERAL_NOTEBOOKS, "dan": Status.MISSING,
        "eve": Status.OK}
    assert subs["ann"].notebook.cells[0].source == "newer copy" and subs["ann"].superseded == ["ex01.ipynb"]
    assert "2 notebooks submitted: graded the latest" in subs["ann"].message
    assert "the expected name is ex01.ipynb" in subs["bob"].message and subs["bob"].notebook is not None
    assert subs["cat"].notebook is None and "several notebooks (a.ipynb, b.ipynb)" in subs["cat"].message
    assert subs["eve"].notebook.cells[0].source == "from the zip"  # a zip uploaded instead of the notebook
    assert subs["ann"].digest == hashlib.sha256(notebook_bytes("newer copy")).hexdigest()


def test_the_roster_adds_the_absent_and_names_the_unknown(tmp_path: Path) -> None:
    folder = _write(tmp_path / "class", {"ann/ex01.ipynb": notebook_bytes(), "zed/ex01.ipynb": notebook_bytes()})
    roster = Roster(tmp_path / "roster.csv", "list", ["student_id", "name"], [["ann", "Ann A"], ["bob", "Bob B"]],
                    [RosterStudent("ann", "Ann A", 0), RosterStudent("bob", "Bob B", 1)])
    found = collect(folder, NAME, roster=roster)
    assert {s.student_id: (s.status, s.display_name) for s in found.submissions} == {
        "ann": (Status.OK, "Ann A"), "zed": (Status.OK, ""), "bob": (Status.MISSING, "Bob B")}
    assert found.not_in_roster == ["zed"] and found.layout == "one folder per student"


def test_a_download_with_no_submission_is_an_instructor_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(IntakeError, match="is empty"):
        collect(tmp_path / "empty", NAME)
    with pytest.raises(IntakeError, match="no such file or folder"):
        collect(tmp_path / "nowhere", NAME)
    (tmp_path / "notes.txt").write_text("not a zip")
    with pytest.raises(IntakeError, match="neither a folder of submissions nor a zip file"):
        collect(tmp_path / "notes.txt", NAME)


def test_an_nbgrader_tree_with_other_assignments_is_read_by_its_shape(tmp_path: Path) -> None:
    tree = tmp_path / "course" / "submitted"
    for student, assignments in {"alice": [NAME, "ex02"], "bob": ["ex02"], "carol": [NAME]}.items():
        for assignment in assignments:
            (tree / student / assignment).mkdir(parents=True)
            (tree / student / assignment / f"{assignment}.ipynb").write_bytes(notebook_bytes(assignment))
            (tree / student / assignment / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC")
    got = collect(tmp_path / "course", NAME)
    assert got.layout == "nbgrader submitted/ tree" and got.unmatched == []
    # bob sent only ex02: missing for ex01, not graded as ex01 under a wrong name
    assert {s.student_id: s.status for s in got.submissions} == {
        "alice": Status.OK, "bob": Status.MISSING, "carol": Status.OK}
    assert all(s.path is None or s.path.parent.name == NAME for s in got.submissions)
