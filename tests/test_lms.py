"""Issue 15: LMS downloads in (Canvas, Moodle with and without folders, Blackboard), the LMS's import files out.

The zips are built in each LMS's own naming scheme, with a late file, resubmissions, a non-ASCII
name, a stray file and a student who sent nothing, and graded through the real pdl-grade.
"""
from __future__ import annotations

import csv
import hashlib
import json
import zipfile
from pathlib import Path

import nbformat
import pytest
from conftest import exercise_path, pdl_grade, read_csv, read_nb, solved_student_version

from autograder.intake import ascii_id, collect, member_name
from autograder.layouts import Blackboard, Canvas, Moodle, base_stem, resubmission_number
from autograder.roster import read_roster

NAME = "ex01_logistic_regression"
FULL, MAX = "14", "16"  # autograded points of a correct ex01; max includes the written answers
GOOD = nbformat.writes(solved_student_version(NAME)).encode()
BLANK = nbformat.writes(read_nb(exercise_path(NAME))).encode()
OLD, NEW = (2026, 12, 1, 9, 0, 0), (2026, 12, 2, 9, 0, 0)


def put(zf: zipfile.ZipFile, name: str, data: bytes | str, when: tuple = NEW) -> None:
    zf.writestr(zipfile.ZipInfo(name, when), data)


def rows_by(path: Path, key: str) -> dict[str, dict[str, str]]:
    return {r[key]: r for r in read_csv(path)}


def raw_table(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


# --- the filename parsers ------------------------------------------------------------------------

def test_canvas_names():
    c = Canvas().claim(f"mullermax_late_12346_67892_{NAME}-2.ipynb", False, Path("."))
    assert (c.student, c.display_name, c.late, c.order, c.filename) == ("12346", "mullermax", True, (2,),
                                                                        f"{NAME}-2.ipynb")
    c = Canvas().claim(f"doejane_12345_67890_{NAME}.ipynb", False, Path("."))
    assert (c.student, c.late, c.order) == ("12345", False, (0,))
    c = Canvas().claim("leeanna_12349_text.html", False, Path("."))
    assert c.student == "12349" and not c.gradable
    assert Canvas().claim("notes.txt", False, Path(".")) is None
    assert Canvas().claim(f"doejane_12345_67890_{NAME}.ipynb", True, Path(".")) is None


def test_moodle_names():
    c = Moodle().claim("Max Müller_502_assignsubmission_file_", True, Path("."))
    assert (c.student, c.display_name, c.late, c.gradable) == ("502", "Max Müller", None, True)
    c = Moodle().claim(f"Jane Doe_501_assignsubmission_file_{NAME}.ipynb", False, Path("."))
    assert (c.student, c.filename) == ("501", f"{NAME}.ipynb")
    assert not Moodle().claim("Bob Smith_503_assignsubmission_onlinetext_", True, Path(".")).gradable
    assert Moodle().claim("Jane Doe_501_assignsubmission_file_", False, Path(".")) is None  # a folder's name
    assert Moodle().claim("readme.txt", False, Path(".")) is None


def test_blackboard_names_and_receipt(tmp_path):
    receipt = "Exercise 1_b_smith_attempt_2026-12-01-10-00-00.txt"
    (tmp_path / receipt).write_text("Name: Bob Smith (b_smith)\nAssignment: Exercise 1\n")
    entries = [(f"Exercise 1_jdoe_attempt_2026-12-01-10-00-00_{NAME}.ipynb", False), (receipt, False),
               (f"Exercise 1_b_smith_attempt_2026-12-01-10-00-00_{NAME}.ipynb", False), ("stray.pdf", False)]
    claims = Blackboard().claim_all(entries, tmp_path)
    assert {n: (c.student, c.display_name, c.gradable) for n, c in claims.items()} == {
        entries[0][0]: ("jdoe", "", True), receipt: ("b_smith", "Bob Smith", False),
        entries[2][0]: ("b_smith", "Bob Smith", True)}
    assert claims[entries[0][0]].order == ("2026-12-01-10-00-00",)


def test_copy_numbers_and_ids():
    assert [resubmission_number(f) for f in ("a.ipynb", "a-1.ipynb", "a (2).ipynb", "a-b.ipynb")] == [0, 1, 2, 0]
    assert base_stem(f"{NAME}-3.ipynb") == base_stem(f"{NAME} (1).ipynb") == NAME
    assert ascii_id("Max Müller") == "Max_Muller"
    assert ascii_id("李雷") == ascii_id("李雷") and ascii_id("李雷").startswith("s-") and ascii_id("李雷").isascii()
    assert ascii_id("12346") == "12346"


def test_zip_member_names_written_as_utf8_without_the_flag():
    info = zipfile.ZipInfo("Max Müller_502_assignsubmission_file_/x.ipynb".encode().decode("cp437"))
    info.flag_bits = 0
    assert member_name(info) == "Max Müller_502_assignsubmission_file_/x.ipynb"


def test_nbgrader_tree_and_student_folders(tmp_path):
    tree = tmp_path / "course" / "submitted"
    for student in ("alice", "bob"):
        (tree / student / NAME).mkdir(parents=True)
        (tree / student / NAME / f"{NAME}.ipynb").write_bytes(GOOD)
        (tree / student / NAME / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC")
    intake = collect(tmp_path / "course", NAME)
    assert intake.layout == "nbgrader submitted/ tree" and not intake.unmatched
    assert [(s.student_id, s.status, s.late) for s in intake.submissions] == [("alice", "ok", None), ("bob", "ok", None)]
    folders = tmp_path / "folders"
    for student in ("Max Müller", "李雷"):
        (folders / student).mkdir(parents=True)
        (folders / student / f"{NAME}.ipynb").write_bytes(GOOD)
    intake = collect(folders, NAME)
    assert intake.layout == "one folder per student"
    ids = {s.display_name: s.student_id for s in intake.submissions}
    assert ids["Max Müller"] == "Max_Muller" and ids["李雷"] == ascii_id("李雷") and all(i.isascii() for i in ids.values())


def test_nothing_matching_is_an_error_with_the_names(tmp_path):
    for name in ("a.pdf", "b.docx"):
        (tmp_path / name).write_text("x")
    with pytest.raises(Exception, match=r"no submissions found in .*'a\.pdf', 'b\.docx'"):
        collect(tmp_path, NAME)


def test_id_pattern(tmp_path):
    import re
    (tmp_path / "hw").mkdir()
    (tmp_path / "hw" / f"{NAME}__alice__2026-12-02.ipynb").write_bytes(GOOD)
    (tmp_path / "hw" / f"{NAME}__alice__2026-12-01.ipynb").write_bytes(BLANK)
    (tmp_path / "hw" / "other.txt").write_text("x")
    intake = collect(tmp_path, NAME, pattern=re.compile(r"__(?P<student_id>[a-z]+)__(?P<timestamp>[\d-]+)\.ipynb$"))
    (sub,) = intake.submissions
    assert sub.student_id == "alice" and sub.status == "wrong_name" and sub.digest == hashlib.sha256(GOOD).hexdigest()
    # the earlier timestamp is noted, not graded; a file the pattern does not match is listed by its path
    assert sub.superseded == [f"{NAME}__alice__2026-12-01.ipynb"] and intake.unmatched == ["hw/other.txt"]


# --- Canvas: download in, gradebook import file out -----------------------------------------------

CANVAS_ROSTER = (
    "Student,ID,SIS User ID,SIS Login ID,Section,ex01_logistic_regression (555),Other Quiz (556),Current Score\n"
    "    Points Possible,,,,,16.00,10.00,(read only)\n"
    '"Doe, Jane",12345,s001,jdoe,Sec A,,7.00,70\n'
    '"Müller, Max",12346,s002,mmuller,Sec A,,8.50,85\n'
    '"Smith, Bob",12347,s003,bsmith,Sec A,3.00,9.00,90\n'
    '"Absent, Al",12348,s004,aabsent,Sec B,,,\n'
    '"Lee, Anna",12349,s005,alee,Sec B,,6.00,60\n')


@pytest.fixture(scope="module")
def canvas(tmp_path_factory):
    work = tmp_path_factory.mktemp("canvas")
    download = work / "submissions.zip"
    with zipfile.ZipFile(download, "w") as zf:
        put(zf, f"doejane_12345_67890_{NAME}.ipynb", GOOD)
        put(zf, f"müllermax_late_12346_67891_{NAME}.ipynb", BLANK, OLD)  # the first upload
        put(zf, f"müllermax_late_12346_67892_{NAME}-1.ipynb", GOOD)  # the resubmission counts
        put(zf, f"smithbob_12347_67893_{NAME}.ipynb", BLANK)
        put(zf, "leeanna_12349_text.html", "<p>I did it on paper</p>")  # a text entry: no notebook
        put(zf, f"strangerx_99999_67894_{NAME}.ipynb", GOOD)  # not on the roster
        put(zf, "notes.txt", "a stray file")
    roster = work / "gradebook.csv"
    roster.write_text(CANVAS_ROSTER, encoding="utf-8")
    out = work / "out"
    proc = pdl_grade("grade", NAME, str(download), "--out", str(out), "--workers", "2", "--roster", str(roster),
                     "--lms", "canvas")
    return out, roster, proc


def test_canvas_grades_csv(canvas):
    out, _, proc = canvas
    got = {s: (r["display_name"], r["score"], r["status"], r["late"]) for s, r in rows_by(out / "grades.csv",
                                                                                          "student_id").items()}
    assert got == {"12345": ("Doe, Jane", FULL, "graded", "false"),
                   "12346": ("Müller, Max", FULL, "graded", "true"),
                   "12347": ("Smith, Bob", "0", "graded", "false"),
                   "12348": ("Absent, Al", "0", "missing", ""),
                   "12349": ("Lee, Anna", "0", "missing", "false"),  # a text entry, on time: no notebook
                   "99999": ("strangerx", FULL, "not_in_roster", "false")}
    assert "Canvas (Download Submissions)" in proc.stderr and "notes.txt" in proc.stderr
    assert "late (the LMS's mark)" in proc.stderr
    (result,) = (out / "results" / NAME / "12346").glob("*.json")
    stored = json.loads(result.read_text())
    assert stored["display_name"] == "Müller, Max" and stored["late"] is True
    assert f"not graded: {NAME}.ipynb" in stored["message"]  # the first upload, noted


def test_canvas_import_file_cell_by_cell(canvas):
    out, roster, _ = canvas
    before, after = raw_table(roster), raw_table(out / "grades_canvas.csv")
    assert len(after) == len(before) and after[0] == before[0]
    column = before[0].index("ex01_logistic_regression (555)")
    expected = {"12345": FULL, "12346": FULL, "12347": "0", "12348": "", "12349": ""}
    for old, new in zip(before, after):
        if old[1] in expected:
            assert new[column] == expected[old[1]], old
        else:
            assert new[column] == old[column]  # Points Possible row kept
        assert new[:column] + new[column + 1:] == old[:column] + old[column + 1:]  # nothing else changed


def test_canvas_export_late_penalty_and_missing_as_zero(canvas):
    out, roster, _ = canvas
    pdl_grade("export", "--out", str(out), "--roster", str(roster), "--lms", "canvas", "--late-penalty", "0.5",
              "--missing-as-zero")
    summary = rows_by(out / "grades.csv", "student_id")
    assert (summary["12346"]["score"], summary["12346"]["late_penalty"]) == ("7", "0.5")
    assert (summary["12345"]["score"], summary["12345"]["late_penalty"]) == (FULL, "")
    table = {row[1]: row for row in raw_table(out / "grades_canvas.csv")}
    column = raw_table(roster)[0].index("ex01_logistic_regression (555)")
    assert [table[s][column] for s in ("12345", "12346", "12347", "12348")] == [FULL, "7", "0", "0"]
    # without options, export uses the roster and penalty kept from the last run
    pdl_grade("export", "--out", str(out))
    assert rows_by(out / "grades.csv", "student_id")["12346"]["score"] == "7"
    assert "12348" in rows_by(out / "grades.csv", "student_id")


# --- Moodle, "submissions in folders": download in, grading worksheet out ---------------------------

MOODLE_HEADER = ("Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,"
                 "Last modified (submission),Last modified (grade),Feedback comments\n")
MOODLE_ROSTER = MOODLE_HEADER + (
    'Participant 501,Jane Doe,jane@example.org,Submitted for grading,,16.00,Yes,"Monday, 1 December 2026, 9:00 AM",-,\n'
    'Participant 502,Max Müller,max@example.org,Submitted for grading,,16.00,Yes,"Tuesday, 2 December 2026, 9:00 AM",-,\n'
    'Participant 503,Bob Smith,bob@example.org,Submitted for grading,,16.00,Yes,"Monday, 1 December 2026, 8:00 AM",-,\n'
    "Participant 504,Anna Lee,anna@example.org,Submitted for grading,,16.00,Yes,-,-,\n"
    "Participant 505,Al Absent,al@example.org,No submission,,16.00,Yes,-,-,\n")


@pytest.fixture(scope="module")
def moodle_folders(tmp_path_factory):
    work = tmp_path_factory.mktemp("moodle")
    download = work / "moodle.zip"
    with zipfile.ZipFile(download, "w") as zf:
        put(zf, f"Jane Doe_501_assignsubmission_file_/{NAME}.ipynb", GOOD)
        put(zf, f"Max Müller_502_assignsubmission_file_/{NAME}.ipynb", BLANK, OLD)  # a draft
        put(zf, f"Max Müller_502_assignsubmission_file_/{NAME} (1).ipynb", GOOD)  # the final upload
        put(zf, f"Bob Smith_503_assignsubmission_file_/{NAME}.ipynb", BLANK)
        put(zf, "Bob Smith_503_assignsubmission_onlinetext_/onlinetext.html", "<p>see file</p>")
        put(zf, "Anna Lee_504_assignsubmission_file_/answers.pdf", b"%PDF-1.4")
        put(zf, "readme.txt", "a stray file")
    roster = work / "worksheet.csv"
    roster.write_text(MOODLE_ROSTER, encoding="utf-8")
    out = work / "out"
    proc = pdl_grade("grade", NAME, str(download), "--out", str(out), "--workers", "2", "--roster", str(roster),
                     "--lms", "moodle")
    return out, roster, proc


def test_moodle_folders(moodle_folders):
    out, roster, proc = moodle_folders
    got = {s: (r["display_name"], r["score"], r["status"], r["late"]) for s, r in rows_by(out / "grades.csv",
                                                                                          "student_id").items()}
    assert got == {"501": ("Jane Doe", FULL, "graded", ""), "502": ("Max Müller", FULL, "graded", ""),
                   "503": ("Bob Smith", "0", "graded", ""), "504": ("Anna Lee", "0", "missing", ""),
                   "505": ("Al Absent", "0", "missing", "")}
    assert "Moodle (Download all submissions)" in proc.stderr and "readme.txt" in proc.stderr
    before, after = raw_table(roster), raw_table(out / "grades_moodle.csv")
    grade = before[0].index("Grade")
    expected = {"Participant 501": "14.00", "Participant 502": "14.00", "Participant 503": "0.00",
                "Participant 504": "", "Participant 505": ""}
    assert after[0] == before[0] and len(after) == len(before)
    for old, new in zip(before[1:], after[1:]):
        assert new[grade] == expected[old[0]]
        assert new[:grade] + new[grade + 1:] == old[:grade] + old[grade + 1:]


@pytest.fixture(scope="module")
def moodle_flat(tmp_path_factory):
    work = tmp_path_factory.mktemp("moodle_flat")
    download = work / "moodle_flat.zip"
    with zipfile.ZipFile(download, "w") as zf:
        put(zf, f"Jane Doe_501_assignsubmission_file_{NAME}.ipynb", GOOD)
        put(zf, f"Max Müller_502_assignsubmission_file_{NAME}.ipynb", BLANK)
    roster = work / "worksheet.csv"
    roster.write_text(MOODLE_ROSTER, encoding="utf-8")
    out = work / "out"
    pdl_grade("grade", NAME, str(download), "--out", str(out), "--workers", "2", "--roster", str(roster),
              "--lms", "moodle", "--missing-as-zero")
    return out, roster


def test_moodle_without_folders(moodle_flat):
    out, roster = moodle_flat
    assert {s: (r["score"], r["status"]) for s, r in rows_by(out / "grades.csv", "student_id").items()} == {
        "501": (FULL, "graded"), "502": ("0", "graded"), "503": ("0", "missing"), "504": ("0", "missing"),
        "505": ("0", "missing")}
    after = {row[0]: row for row in raw_table(out / "grades_moodle.csv")}
    grade = raw_table(roster)[0].index("Grade")
    assert [after[f"Participant {i}"][grade] for i in range(501, 506)] == ["14.00", "0.00", "0.00", "0.00", "0.00"]


# --- Blackboard ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def blackboard(tmp_path_factory):
    work = tmp_path_factory.mktemp("blackboard")
    download = work / "gradebook_ex01.zip"
    with zipfile.ZipFile(download, "w") as zf:
        for user, name, stamp, data in (("jdoe", "Jane Doe", "2026-12-01-10-00-00", GOOD),
                                        ("m_muller", "Max Müller", "2026-12-01-09-00-00", BLANK),
                                        ("m_muller", "Max Müller", "2026-12-02-09-30-00", GOOD)):
            put(zf, f"Exercise 1_{user}_attempt_{stamp}_{NAME}.ipynb", data)
            put(zf, f"Exercise 1_{user}_attempt_{stamp}.txt",
                f"Name: {name} ({user})\nAssignment: Exercise 1\nDate Submitted: {stamp}\n\nFiles:\n"
                f"\tOriginal filename: {NAME}.ipynb\n")
        put(zf, "Thumbs.db", b"\0")
    out = work / "out"
    proc = pdl_grade("grade", NAME, str(download), "--out", str(out), "--workers", "2")
    return out, proc


def test_blackboard(blackboard):
    out, proc = blackboard
    got = {s: (r["display_name"], r["score"], r["status"], r["late"]) for s, r in rows_by(out / "grades.csv",
                                                                                          "student_id").items()}
    assert got == {"jdoe": ("Jane Doe", FULL, "graded", ""), "m_muller": ("Max Müller", FULL, "graded", "")}
    assert "Blackboard" in proc.stderr and "not a submission" not in proc.stderr  # receipts are not strays
    (result,) = (out / "results" / NAME / "m_muller").glob("*.json")
    assert "2 notebooks submitted: graded the latest" in json.loads(result.read_text())["message"]


def test_roster_reader_kinds(tmp_path):
    path = tmp_path / "gradebook.csv"
    path.write_bytes(b"\xef\xbb\xbf" + CANVAS_ROSTER.encode())
    roster = read_roster(path)
    assert roster.kind == "canvas" and roster.bom
    assert [(s.student_id, s.display_name) for s in roster.students][:2] == [("12345", "Doe, Jane"),
                                                                            ("12346", "Müller, Max")]
    assert len(roster.students) == 5  # Points Possible is no student
    path.write_text(MOODLE_ROSTER, encoding="utf-8")
    assert [s.student_id for s in read_roster(path).students] == ["501", "502", "503", "504", "505"]
    path.write_text("student_id,name\nalice,Alice A\n")
    assert read_roster(path).students[0].display_name == "Alice A"


# --- issue 22 item 6: a Moodle upload named after another participant --------------------------------

def test_moodle_participant_id_is_the_one_moodle_wrote(tmp_path):
    # participant 1002 uploads a file named as Moodle would name participant 1001's; Moodle prefixes it with 1002's own
    forged = f"Eve Mallory_1002_assignsubmission_file_x_1001_assignsubmission_file_{NAME}.ipynb"
    claim = Moodle().claim(forged, False, Path("."))
    assert claim.student == "1002" and claim.filename == f"x_1001_assignsubmission_file_{NAME}.ipynb"
    assert Moodle().claim(f"Jane Doe_501_assignsubmission_file_Jane Doe_501_assignsubmission_file_{NAME}.ipynb",
                          False, Path(".")).student == "501"  # a re-upload of one's own file names one student
    download = tmp_path / "moodle.zip"
    with zipfile.ZipFile(download, "w") as zf:
        put(zf, f"Honest Student_1001_assignsubmission_file_{NAME}.ipynb", GOOD, OLD)
        put(zf, forged, BLANK, NEW)  # newer: under the greedy match it was 1001's "latest"
    intake = {s.student_id: s for s in collect(download, NAME).submissions}
    assert set(intake) == {"1001", "1002"}
    assert intake["1001"].status == "ok" and intake["1001"].superseded == []
    assert intake["1002"].status == "ambiguous_owner" and "1001" in intake["1002"].message
    out = tmp_path / "out"
    pdl_grade("grade", NAME, str(download), "--out", str(out), "--workers", "2")
    got = rows_by(out / "grades.csv", "student_id")
    assert (got["1001"]["score"], got["1001"]["status"]) == (FULL, "graded")  # the honest student's grade unchanged
    assert (got["1002"]["score"], got["1002"]["status"]) == ("0", "ambiguous_owner")
