"""Honest accidents cost no points: a submission's grading metadata repaired before nbgrader sees it.

Students duplicate cells, keep a copy of a solution cell as scratch, or open the notebook in an
editor that drops cell metadata (nbgrader#1083, #1682). nbgrader's sanitizers then fail on the
whole notebook. Here each cell of the submission is matched to the student version's cells:
by its grading id first, then by identical content, then, for answers, by its place between
matched cells. Matched cells get the assignment's metadata back (its points, never the
submission's); copies of locked cells are dropped; other copies and cells that claim to be
graded but match nothing become ordinary cells; locked cells that are gone are put back.
Every change is said in plain words, for the student's feedback. Test cells' source still
comes from the instructor's copy (restore.py). The common case, a notebook whose metadata is
intact, is recognised in one pass over its cells and returned as it is.
"""
from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field

from nbformat import NotebookNode

CLAIMED = ("grade", "solution", "locked", "task", "points")  # the metadata that decides a grade


class Unmatchable(ValueError):
    """Nothing of the submission can be recognised as the assignment (a message for the student)."""


def _meta(cell: NotebookNode) -> dict | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else None


def _claim(meta: dict | None) -> tuple:
    if not meta:
        return ()
    try:
        points = float(meta.get("points") or 0)
    except (TypeError, ValueError):
        points = float("nan")  # never equal: a repair, which gives the assignment's points
    return (*(bool(meta.get(key)) for key in CLAIMED[:-1]), points)


def _content(cell: NotebookNode) -> tuple[str, str]:
    source = cell.get("source", "")
    return cell.get("cell_type", ""), (source if isinstance(source, str) else "".join(source)).strip()


def _locked(meta: dict) -> bool:
    """A cell the student may not change: locked, or a test (graded and not an answer)."""
    return bool(meta.get("locked")) or bool(meta.get("grade")) and not meta.get("solution")


@dataclass
class _Released:
    """The student version's graded and locked cells, indexed once per assignment."""

    cells: list[NotebookNode]
    ids: list[str | None]  # grade_id of each released cell, None for cells without nbgrader metadata
    claims: dict[str, tuple] = field(default_factory=dict)

    @classmethod
    def of(cls, released: NotebookNode) -> "_Released":
        ids = [(_meta(c) or {}).get("grade_id") for c in released.cells]
        claims = {gid: _claim(_meta(c)) for c, gid in zip(released.cells, ids) if gid}
        return cls(list(released.cells), ids, claims)


_cache: dict[int, tuple[NotebookNode, _Released]] = {}


def _index(released: NotebookNode) -> _Released:
    if id(released) not in _cache or _cache[id(released)][0] is not released:
        _cache.clear()  # one assignment per batch
        _cache[id(released)] = (released, _Released.of(released))
    return _cache[id(released)][1]


def needs_repair(nb: NotebookNode, released: NotebookNode) -> bool:
    """Whether the grading metadata differs from the assignment's in any way (one pass, no copies)."""
    index = _index(released)
    seen: set[str] = set()
    for cell in nb.cells:
        meta = _meta(cell)
        if meta is None or not meta:
            if meta is not None:  # an empty nbgrader entry
                return True
            continue
        gid = meta.get("grade_id")
        if gid is None or gid in seen or index.claims.get(gid) != _claim(meta):
            return True
        seen.add(gid)
    return len(seen) < len(index.claims) // 2  # most graded cells gone: metadata lost, not cells deleted


def repair(nb: NotebookNode, released: NotebookNode) -> tuple[NotebookNode, list[str]]:
    """``nb`` with its grading metadata made the assignment's, and what was changed, in plain words.

    Returns ``nb`` itself when nothing needs repair. Raises Unmatchable when no cell of it
    can be recognised.
    """
    if not needs_repair(nb, released):
        return nb, []
    return _Repair(nb, _index(released)).run()


class _Repair:
    def __init__(self, nb: NotebookNode, index: _Released):
        self.nb, self.index = nb, index
        self.cells = list(nb.cells)
        self.match: dict[int, int] = {}  # released index -> submitted index
        self.notes: list[str] = []

    def run(self) -> tuple[NotebookNode, list[str]]:
        stripped = not any(_meta(c) for c in self.cells)
        self._by_id()
        self._by_content()
        if not self.match:  # no cell is the assignment's by id or content: places mean nothing
            raise Unmatchable("this notebook could not be matched to the assignment: none of its cells is one of the "
                              "assignment's (was another file submitted?). Start again from the assignment's notebook "
                              "and copy your answers into it")
        self._by_place()
        if stripped:
            self.notes.append(f"the notebook had lost its grading information (some editors drop it); its cells were "
                              f"recognised by their place and content ({len(self.match)} of "
                              f"{sum(1 for g in self.index.ids if g)} found)")
        cells = self._rebuild()
        return NotebookNode({**self.nb, "cells": cells}), self.notes

    def _by_id(self) -> None:
        """The first cell that carries an id (of the same type) is that cell; later ones are copies."""
        position = {gid: j for j, gid in enumerate(self.index.ids) if gid}
        for i, cell in enumerate(self.cells):
            gid = (_meta(cell) or {}).get("grade_id")
            j = position.get(gid)
            if j is not None and j not in self.match and cell.get("cell_type") == self.index.cells[j].cell_type:
                self.match[j] = i

    def _unmatched(self) -> tuple[list[int], list[int]]:
        used = set(self.match.values())
        return ([j for j, gid in enumerate(self.index.ids) if gid and j not in self.match],
                [i for i in range(len(self.cells)) if i not in used])

    def _by_content(self) -> None:
        """Cells with exactly the released content (locked cells, unanswered stubs, renamed tests), in order."""
        todo_r, todo_s = self._unmatched()
        keys_r = [_content(self.index.cells[j]) for j in todo_r]
        keys_s = [_content(self.cells[i]) for i in todo_s]
        matcher = difflib.SequenceMatcher(a=keys_r, b=keys_s, autojunk=False)
        for block in matcher.get_matching_blocks():
            for k in range(block.size):
                if keys_r[block.a + k][1]:  # an empty cell says nothing about which cell it is
                    self.match[todo_r[block.a + k]] = todo_s[block.b + k]

    def _by_place(self) -> None:
        """An answer is the cell of its type between the cells matched before and after it."""
        todo_r, _ = self._unmatched()
        for j in todo_r:
            meta = _meta(self.index.cells[j]) or {}
            if not meta.get("solution"):
                continue
            before = [self.match[k] for k in self.match if k < j]
            after = [self.match[k] for k in self.match if k > j]
            low, high = max(before, default=-1), min(after, default=len(self.cells))
            used = set(self.match.values())
            candidates = [i for i in range(low + 1, high) if i not in used
                          and self.cells[i].get("cell_type") == self.index.cells[j].cell_type
                          and not (_meta(self.cells[i]) or {}).get("grade_id")]
            if candidates:
                stub = _content(self.index.cells[j])[1]
                self.match[j] = max(candidates, key=lambda i: (
                    difflib.SequenceMatcher(a=stub, b=_content(self.cells[i])[1]).quick_ratio(), -i))

    def _rebuild(self) -> list[NotebookNode]:
        owner = {i: j for j, i in self.match.items()}
        position = {gid: j for j, gid in enumerate(self.index.ids) if gid}
        cells: list[NotebookNode] = []
        placed: dict[int, int] = {}  # released index -> index in ``cells``
        for i, cell in enumerate(self.cells):
            meta = _meta(cell)
            gid = (meta or {}).get("grade_id")
            if i in owner:
                j = owner[i]
                ours = _meta(self.index.cells[j])
                if meta and gid != self.index.ids[j]:
                    self.notes.append(f"cell {gid} is the assignment's cell {self.index.ids[j]} under another name; "
                                      f"it is graded as {self.index.ids[j]}")
                elif meta and _claim(meta) != _claim(ours):
                    self.notes.append(f"cell {gid} claimed other grading settings ({_describe(meta)}) than the "
                                      f"assignment's ({_describe(ours)}); the assignment's count")
                cell = copy.copy(cell)
                cell["metadata"] = {**cell.get("metadata", {}), "nbgrader": copy.deepcopy(ours)}
                placed[j] = len(cells)
                cells.append(NotebookNode(cell))
                continue
            copied = position.get(gid)
            if copied is not None and _locked(_meta(self.index.cells[copied])):
                self.notes.append(f"a copy of the locked cell {gid} was removed")
                continue
            if copied is not None:
                self.notes.append(f"cell {gid} appears more than once: the first is graded, the copy is kept as an "
                                  "ordinary cell")
            elif meta and (meta.get("grade") or meta.get("solution") or meta.get("task")):
                self.notes.append(f"cell {gid or '(no id)'} claims to be graded ({_describe(meta)}) but is not part "
                                  "of the assignment; it earns nothing")
            if meta is not None:
                cell = copy.copy(cell)
                cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items() if k != "nbgrader"}
                cell = NotebookNode(cell)
            cells.append(cell)
        self._put_back(cells, placed)
        return cells

    def _put_back(self, cells: list[NotebookNode], placed: dict[int, int]) -> None:
        """Locked and graded cells that are gone, after the cell that comes before them in the assignment."""
        for j, gid in enumerate(self.index.ids):
            if not gid or j in placed:
                continue
            ours = self.index.cells[j]
            meta = _meta(ours) or {}
            if not (_locked(meta) or meta.get("grade")):
                continue  # an answer cell that is gone: its tests will say so
            at = max((placed[k] for k in placed if k < j), default=-1) + 1
            cells.insert(at, NotebookNode(copy.deepcopy(ours)))
            placed = {k: (v + 1 if v >= at else v) for k, v in placed.items()}
            placed[j] = at
            self.notes.append(f"cell {gid} was missing and has been put back")


def _describe(meta: dict) -> str:
    kinds = [k for k in ("grade", "solution", "locked", "task") if meta.get(k)]
    points = f", {meta['points']:g} points" if isinstance(meta.get("points"), (int, float)) else ""
    return ("/".join(kinds) or "plain") + points
