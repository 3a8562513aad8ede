"""Pairs of submissions whose answers are unusually alike: copydetect's fingerprints, one score per pair.

What is compared: each graded code cell (a solution cell of the student version) of two students, cell with
cell. What is ignored: the released starter code (its lines are masked, and its fingerprints are given to
copydetect as boilerplate), docstrings, comments and whitespace (masked, or dropped by copydetect's tokenizer),
and identifiers (copydetect replaces every name by one letter). Reordered statements are not recognised as such
(copydetect matches k-grams of tokens, so a moved statement still matches if it is longer than k).

Why copydetect (PyPI) and not Dolos (npm): both fingerprint with winnowing and separated our planted copies from
the course's independent answers equally well (bench/results/similarity_libraries.md); copydetect runs in this
process with no Node.js at grading time, takes the starter code as boilerplate, and returns the matching character
ranges of the original sources, which the report marks.

A pair's score weighs each cell by its amount of code: matched characters of normalised code over all cells,
divided by all their characters, and a pair with less code than ``min_chars`` counts as having that much, so a
one-line function that everyone writes alike cannot make a pair score high. The threshold the report highlights
and its false-positive rate are measured on the course's independent correct answers (similarity_calibration.py,
written by ``python -m bench.similarity_calibration``).
"""
from __future__ import annotations

import ast
import csv
import difflib
import io
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .similarity_calibration import CALIBRATION

COLUMNS = ["assignment", "student_a", "student_b", "score", "matched_chars", "total_chars", "flagged", "functions"]


@dataclass(frozen=True)
class Settings:
    """copydetect's k (characters of normalised code) and the floor of a pair's amount of code."""

    kgram: int = CALIBRATION["kgram"]
    min_chars: int = CALIBRATION["min_chars"]
    threshold: float = CALIBRATION["threshold"]


@dataclass
class CellMatch:
    """Two students' answers in one graded cell."""

    grade_id: str
    matched_a: int  # characters of normalised code of a's answer that are also in b's
    matched_b: int
    total_a: int  # characters of a's answer that copydetect fingerprints (starter code removed)
    total_b: int

    @property
    def score(self) -> float:
        total = self.total_a + self.total_b
        return (self.matched_a + self.matched_b) / total if total else 0.0


@dataclass
class PairScore:
    student_a: str
    student_b: str
    score: float  # in [0, 1]; 1: every line of answer code of both matches the other's
    matched: int
    total: int
    cells: list[CellMatch] = field(default_factory=list)  # cells with any match, most matched code first
    flagged: bool = False

    def functions(self) -> str:
        return "; ".join(f"{c.grade_id} {c.score:.2f}" for c in self.cells)


def mask_starter(source: str, starter: str) -> str:
    """``source`` with the starter code's lines, docstrings and comments turned into comments of the same length.

    Same length, so that copydetect's character ranges point into the student's own text.
    """
    lines = source.splitlines(keepends=True)
    masked = list(lines)
    given = [line.strip() for line in starter.splitlines()]
    matcher = difflib.SequenceMatcher(None, [line.strip() for line in lines], given, autojunk=False)
    for block in matcher.get_matching_blocks():
        for i in range(block.a, block.a + block.size):
            masked[i] = _as_comment(lines[i])
    for first, last in _docstring_lines(source):
        for i in range(first, last + 1):
            masked[i] = _as_comment(lines[i])
    return "".join(masked)


def _as_comment(line: str) -> str:
    body = line.rstrip("\r\n")
    return ("#" + " " * (len(body) - 1) if body else "") + line[len(body):]


def _docstring_lines(source: str) -> list[tuple[int, int]]:
    """0-based (first, last) lines of each docstring (a string statement first in a module, class or function)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []  # copydetect's tokenizer turns a string into one letter anyway
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                found.append((first.lineno - 1, (first.end_lineno or first.lineno) - 1))
    return found


class _Cell:
    """One student's answer in one cell, fingerprinted once."""

    def __init__(self, source: str, masked: str, fingerprint: Any):
        self.source = source
        self.masked = masked
        self.fingerprint = fingerprint
        self.total = int(fingerprint.token_coverage)


def _fingerprints(answers: Mapping[str, Mapping[str, str]], starter: Mapping[str, str],
                  settings: Settings) -> dict[str, dict[str, _Cell]]:
    from copydetect import CodeFingerprint  # imports pyplot: only when a class is compared

    cells: dict[str, dict[str, _Cell]] = {}
    for grade_id, given in starter.items():
        boilerplate = np.array(sorted(CodeFingerprint("starter.py", settings.kgram, 1, language="python",
                                                      fp=io.StringIO(given)).hashes))
        seen: dict[str, _Cell] = {}  # identical answers (a class copying the same hint) fingerprinted once
        for student, cells_of in answers.items():
            source = cells_of.get(grade_id)
            if source is None:
                continue
            if source not in seen:
                masked = mask_starter(source, given)
                # win_size 1 keeps every k-gram: the result does not depend on Python's per-process string hashes
                fp = CodeFingerprint(f"{student}/{grade_id}.py", settings.kgram, 1, boilerplate, language="python",
                                     fp=io.StringIO(masked))
                seen[source] = _Cell(source, masked, fp)
            if seen[source].total:
                cells.setdefault(student, {})[grade_id] = seen[source]
    return cells


def _match(a: _Cell, b: _Cell) -> tuple[int, int, Any, Any]:
    """(matched characters of a, of b, a's ranges, b's ranges) by copydetect's compare_files."""
    from copydetect import compare_files

    overlap, (sim_a, sim_b), (slices_a, slices_b) = compare_files(a.fingerprint, b.fingerprint)
    if not overlap:
        return 0, 0, None, None
    return int(round(sim_a * a.total)), int(round(sim_b * b.total)), slices_a, slices_b


def compare(answers: Mapping[str, Mapping[str, str]], starter: Mapping[str, str],
            settings: Settings | None = None) -> list[PairScore]:
    """Every pair of students, most alike first.

    ``answers``: student -> grade_id -> the source of that graded cell; ``starter``: grade_id -> the released cell.
    """
    settings = settings or Settings()
    cells = _fingerprints(answers, starter, settings)
    totals = {s: sum(c.total for c in cs.values()) for s, cs in cells.items()}
    cache: dict[tuple[int, int], tuple[int, int]] = {}
    pairs = []
    for a, b in itertools.combinations(sorted(answers), 2):
        matches = []
        for grade_id in starter:
            ca, cb = cells.get(a, {}).get(grade_id), cells.get(b, {}).get(grade_id)
            if ca is None or cb is None or not (ca.fingerprint.hashes & cb.fingerprint.hashes):
                continue
            key = (id(ca), id(cb))
            if key not in cache:
                cache[key] = _match(ca, cb)[:2]
            ma, mb = cache[key]
            if ma or mb:
                matches.append(CellMatch(grade_id, ma, mb, ca.total, cb.total))
        matched = sum(m.matched_a + m.matched_b for m in matches)
        total = totals.get(a, 0) + totals.get(b, 0)
        score = matched / max(total, 2 * settings.min_chars) if matched else 0.0
        matches.sort(key=lambda m: -(m.matched_a + m.matched_b))
        pairs.append(PairScore(a, b, round(score, 4), matched, total, matches, score >= settings.threshold))
    pairs.sort(key=lambda p: (-p.score, p.student_a, p.student_b))
    return pairs


def marked_regions(source_a: str, source_b: str, starter: str,
                   settings: Settings | None = None) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The character ranges of each source that copydetect matched with the other (for the report)."""
    settings = settings or Settings()
    cells = _fingerprints({"a": {"cell": source_a}, "b": {"cell": source_b}}, {"cell": starter}, settings)
    ca, cb = cells.get("a", {}).get("cell"), cells.get("b", {}).get("cell")
    if ca is None or cb is None:
        return [], []
    _, _, slices_a, slices_b = _match(ca, cb)
    if slices_a is None:
        return [], []
    return ([(int(s), int(e)) for s, e in zip(*slices_a)], [(int(s), int(e)) for s, e in zip(*slices_b)])


def answer_cells(notebook: Mapping[str, Any] | None, grade_ids: Iterable[str]) -> dict[str, str]:
    """grade_id -> source of those cells of a submitted (or graded) notebook."""
    wanted = set(grade_ids)
    found: dict[str, str] = {}
    for cell in (notebook or {}).get("cells", []):
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in wanted and gid not in found:
            source = cell.get("source", "")
            found[gid] = "".join(source) if isinstance(source, list) else source
    return found


def code_answer_cells(released: Mapping[str, Any]) -> dict[str, str]:
    """grade_id -> starter source of every code solution cell of the student version."""
    return {cell["metadata"]["nbgrader"]["grade_id"]: ("".join(cell["source"]) if isinstance(cell["source"], list)
                                                       else cell["source"])
            for cell in released.get("cells", [])
            if cell.get("cell_type") == "code" and cell.get("metadata", {}).get("nbgrader", {}).get("solution")}


def write_csv(path: Path, pairs: Mapping[str, Iterable[PairScore]]) -> Path:
    """similarity.csv: ``pairs`` per assignment, each most alike first."""
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for assignment, scored in sorted(pairs.items()):
            for p in scored:
                writer.writerow([assignment, p.student_a, p.student_b, f"{p.score:.4f}", p.matched, p.total,
                                 str(p.flagged).lower(), p.functions()])
    tmp.replace(path)
    return path
