"""The class report: report.html, item_stats.csv and similarity.csv in a grading output folder.

It reads only the output folder: the gradebook (scores, manual grades included, as grades.csv has them), the stored
results (statuses, run times, the public verdict messages, the graded notebooks' answer cells), release/ (the student
version: the starter code) and source/ (the instructor's notebook as stored there, hidden tests already redacted:
which test cells are hidden). Nothing in it can show a hidden input or expected value: the failure messages are the
ones the student sees. report.html is one self-contained page: inline CSS, Matplotlib's SVG inlined, no script,
and a Content-Security-Policy that lets it load nothing; everything from a submission is escaped.
"""
from __future__ import annotations

import html
import io
import json
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbgrader.api import Gradebook, SubmittedAssignment, SubmittedNotebook
from sqlalchemy.orm import joinedload, selectinload

from . import export, item_stats, similarity
from .course import COURSE_ID, ensure_alembic_on_path
from .model import GradeError, Result, Roster, Status
from .plans import BEGIN_HIDDEN, END_HIDDEN
from .results import latest
from .roster import read_roster
from .verdicts import redact_hidden

REPORT = "report.html"
ITEM_STATS = "item_stats.csv"
SIMILARITY = "similarity.csv"
SETTINGS = "pdl-grade.json"  # what ``grade`` remembered: the roster and the late penalty
ROSTER_COPY = "roster.csv"
SHOWN_PAIRS = 5  # pairs shown side by side
SHOWN_MESSAGES = 5  # failure message groups per test cell
SHOWN_SLOW = 5
HIDDEN_NOTE = redact_hidden(BEGIN_HIDDEN + END_HIDDEN)  # what source/ has where a hidden block was


class ReportError(GradeError):
    """A folder that is not a grading output (an instructor error: one line, exit code 2)."""


@dataclass
class Cell:
    grade_id: str
    kind: str  # public, hidden, written
    function: str
    position: int


@dataclass
class AssignmentData:
    name: str
    cells: list[Cell]
    starter: dict[str, str]  # code solution cell -> released source
    results: list[Result]
    summary: list[dict]
    long: list[dict]
    pending: dict[str, list[str]] = field(default_factory=dict)  # written grade_id -> students still to grade
    items: list[item_stats.Item] = field(default_factory=list)
    pairs: list[similarity.PairScore] = field(default_factory=list)


def _settings(out: Path) -> dict[str, Any]:
    try:
        return json.loads((out / SETTINGS).read_text())
    except (OSError, ValueError):
        return {}


def _roster(out: Path) -> Roster | None:
    if _settings(out).get("roster") and (out / ROSTER_COPY).is_file():
        return read_roster(out / ROSTER_COPY)
    return None


def _read(path: Path, what: str) -> nbformat.NotebookNode:
    if not path.is_file():
        raise ReportError(f"{path} is missing: the {what} that pdl-grade grade writes into the output folder")
    return nbformat.read(path, as_version=4)


def cell_kinds(source: nbformat.NotebookNode) -> list[Cell]:
    """Every graded cell of the stored instructor notebook: public or hidden test, or written answer.

    A test cell belongs to the code answer cell before it (the graded function it tests).
    """
    cells, function = [], ""
    for position, cell in enumerate(source.cells):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            function = meta.get("grade_id", "")
        if not meta.get("grade"):
            continue
        if meta.get("solution"):
            cells.append(Cell(meta["grade_id"], "written", "", position))
        else:
            kind = "hidden" if HIDDEN_NOTE in cell.source or BEGIN_HIDDEN in cell.source else "public"
            cells.append(Cell(meta["grade_id"], kind, function, position))
    return cells


def _pending(db_url: str) -> set[tuple[str, str, str]]:
    """(assignment, student, grade_id) of every answer nbgrader still marks as needing a manual grade."""
    ensure_alembic_on_path()
    found = set()
    with Gradebook(db_url, COURSE_ID) as gb:
        query = gb.db.query(SubmittedAssignment).options(
            joinedload(SubmittedAssignment.assignment),
            selectinload(SubmittedAssignment.notebooks).selectinload(SubmittedNotebook.grades))
        for submission in query:
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.needs_manual_grade:
                        found.add((submission.assignment.name, submission.student_id, grade.name))
    return found


def collect(out: Path, roster: Roster | None = None, late_penalty: float | None = None) -> list[AssignmentData]:
    """Everything the report shows, per assignment, from the output folder."""
    out = Path(out)
    db = out / "gradebook.db"
    if not out.is_dir() or not db.is_file() or not (out / "results").is_dir():
        raise ReportError(f"{out} is not a grading output folder (no gradebook.db and results/ in it); "
                          "run pdl-grade grade with --out there first")
    roster = roster if roster is not None else _roster(out)
    if late_penalty is None:
        late_penalty = _settings(out).get("late_penalty")
    results = latest(out / "results")
    if not results:
        raise ReportError(f"{out} holds no graded submission (results/ is empty)")
    db_url = f"sqlite:///{db}"
    summary, long = export.rows(db_url, results, roster, late_penalty)
    pending = _pending(db_url)
    found = []
    for name in sorted({r.assignment for r in results}):
        released = _read(out / "release" / name / f"{name}.ipynb", "student version")
        source = _read(out / "source" / name / f"{name}.ipynb", "instructor notebook (hidden tests redacted)")
        cells = cell_kinds(source)
        data = AssignmentData(name, cells, similarity.code_answer_cells(released),
                              sorted((r for r in results if r.assignment == name), key=lambda r: r.student_id),
                              [r for r in summary if r["assignment"] == name],
                              [r for r in long if r["assignment"] == name])
        for assignment, student, grade_id in sorted(pending):
            if assignment == name:
                data.pending.setdefault(grade_id, []).append(student)
        kinds = {(name, c.grade_id): (c.kind, c.function, c.position) for c in cells}
        data.items = item_stats.items(data.summary, data.long, kinds, pending)
        answers = {r.student_id: similarity.answer_cells(r.notebook, data.starter)
                   for r in data.results if r.notebook is not None and not r.status.fatal}
        data.pairs = similarity.compare(answers, data.starter)
        found.append(data)
    return found


def write_report(out: Path, roster: Roster | None = None, late_penalty: float | None = None) -> Path:
    """Write report.html, item_stats.csv and similarity.csv into the grading output folder ``out``; return the page.

    ``roster`` and ``late_penalty`` as grades.csv has them (default: what ``grade`` remembered in the folder).
    Raises ReportError for a folder that is not a grading output.
    """
    out = Path(out).absolute()
    data = collect(out, roster, late_penalty)
    item_stats.write_csv(out / ITEM_STATS, [i for d in data for i in d.items])
    similarity.write_csv(out / SIMILARITY, {d.name: d.pairs for d in data})
    page = render(data)
    tmp = out / f".{REPORT}.tmp"
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out / REPORT)
    return out / REPORT


# ---------------------------------------------------------------- figures


def _svg(fig: Any, label: str) -> str:
    """A Matplotlib figure as inline SVG (text drawn as paths: no font needed), with an accessible label."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text[text.index("<svg"):], count=1, flags=re.S)
    return text.replace("<svg ", f'<svg role="img" aria-label="{html.escape(label)}" class="figure" ', 1)


def _figure(width: float = 6.4, height: float = 3.0) -> Any:
    import matplotlib

    from matplotlib.figure import Figure

    matplotlib.rcParams.update({"svg.fonttype": "path", "svg.hashsalt": "pdl-report", "font.size": 10})
    fig = Figure(figsize=(width, height))
    return fig, fig.add_subplot()


def score_histogram(scores: Sequence[float], max_score: float) -> str:
    fig, ax = _figure()
    top = max(max_score, max(scores, default=0.0))
    bins = [b - 0.5 for b in range(int(top) + 2)]
    ax.hist(scores, bins=bins, color="#3b6ea5", edgecolor="white")
    ax.set_xlabel(f"score (points of {max_score:g})")
    ax.set_ylabel("students")
    ax.set_xlim(-0.5, top + 0.5)
    ax.yaxis.get_major_locator().set_params(integer=True)
    return _svg(fig, "histogram of the students' scores")


def pass_rate_chart(items: Sequence[item_stats.Item]) -> str:
    shown = [i for i in items if i.pass_rate is not None]
    fig, ax = _figure(6.4, 0.28 * len(shown) + 1.0)
    colors = {"public": "#3b6ea5", "hidden": "#c0392b", "written": "#7f8c8d"}
    ax.barh(range(len(shown)), [100 * i.pass_rate for i in shown], color=[colors[i.cell_type] for i in shown])
    ax.set_yticks(range(len(shown)), [f"{i.grade_id} ({i.cell_type})" for i in shown])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("pass rate (% of graded submissions with all points)")
    return _svg(fig, "pass rate per test cell")


def time_histogram(seconds: Sequence[float]) -> str:
    fig, ax = _figure()
    ax.hist(seconds, bins=min(30, max(5, len(seconds) // 3)), color="#3b6ea5", edgecolor="white")
    ax.set_xlabel("run time per submission (s, wall clock in the sandbox)")
    ax.set_ylabel("submissions")
    ax.yaxis.get_major_locator().set_params(integer=True)
    return _svg(fig, "histogram of the run time per submission")


def similarity_histogram(scores: Sequence[float], threshold: float) -> str:
    fig, ax = _figure()
    ax.hist(scores, bins=[x / 20 for x in range(21)], color="#3b6ea5", edgecolor="white")
    ax.axvline(threshold, color="#c0392b", linestyle="--", label=f"highlighted from {threshold:.2f}")
    ax.set_yscale("log")
    ax.set_xlim(0, 1)
    ax.set_xlabel("similarity score of a pair of students")
    ax.set_ylabel("pairs (log scale)")
    ax.legend(loc="upper right")
    return _svg(fig, "histogram of the similarity scores of all pairs")


# ---------------------------------------------------------------- page

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:72rem;margin:1rem auto;padding:0 1rem;
color:#1d1d1d;line-height:1.4}
h1{font-size:1.6rem}h2{font-size:1.3rem;margin-top:2rem;border-bottom:1px solid #ccc}h3{font-size:1.1rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.2rem .5rem;vertical-align:top;
text-align:left}th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}
svg.figure{max-width:100%;height:auto;display:block;margin:.5rem 0}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:.5rem}.pair pre{margin:0}
pre{background:#f7f7f7;border:1px solid #ddd;padding:.4rem;overflow-x:auto;font-size:.85rem;white-space:pre-wrap}
mark{background:#ffd24d}.flag{color:#a61b0b;font-weight:bold}.note{background:#eef4fb;border-left:4px solid #3b6ea5;
padding:.5rem .8rem}code{font-size:.9em}td.msg{min-width:24rem;font-size:.9rem}
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Sequence[int] = ()) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td class="num">{esc(v)}</td>' if i in numeric else f"<td>{esc(v)}</td>"
                                    for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.0f}%"


def _num(x: float | None, digits: int = 2) -> str:
    return "" if x is None else f"{x:.{digits}f}"


def message_key(message: str) -> str:
    """Failure messages that differ only in the student's own numbers are one group."""
    return re.sub(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", "#", message)


def failure_groups(data: AssignmentData, grade_id: str) -> list[tuple[int, str]]:
    """(count, an example) of the most common public failure messages of one test cell."""
    counts: Counter[str] = Counter()
    example: dict[str, str] = {}
    for result in data.results:
        if result.status.fatal:
            continue
        for cell in result.cells:
            if cell.grade_id == grade_id and not cell.passed:
                for message in cell.public_messages or ["failed (no message)"]:
                    key = message_key(message)
                    counts[key] += 1
                    example.setdefault(key, message)
    return [(n, example[k]) for k, n in counts.most_common(SHOWN_MESSAGES)]


def _marked(source: str, regions: Sequence[tuple[int, int]]) -> str:
    parts, at = [], 0
    for start, end in sorted(regions):
        start = max(start, at)
        if end <= start:
            continue
        parts.append(esc(source[at:start]) + "<mark>" + esc(source[start:end]) + "</mark>")
        at = end
    return "".join(parts) + esc(source[at:])


def _overview(data: AssignmentData) -> str:
    scores = [float(r["score"]) for r in data.summary]
    max_score = max((float(r["max_score"]) for r in data.summary), default=0.0)
    statuses = Counter(r["status"] for r in data.summary)
    ran = [r for r in data.summary if not Status(r["status"]).fatal]
    lines = [f"<p>{len(data.summary)} students; {len(ran)} submissions ran to the end.",
             f" Mean score {statistics.fmean(scores):.2f} of {max_score:g}, median {statistics.median(scores):g}."
             if scores else "", "</p>"]
    if data.pending:
        lines.append('<p class="note">Scores are not final: written answers are waiting for manual grading '
                     '(below). Rerun <code>pdl-grade export</code> after formgrader to refresh this report.</p>')
    lines.append(score_histogram(scores, max_score))
    lines.append("<h3>Students per status</h3>")
    lines.append(_table(["status", "students"], sorted(statuses.items()), numeric=[1]))
    return "".join(lines)


def _cells_section(data: AssignmentData) -> str:
    parts = ["<p>Pass rate: the share of the submissions that ran to the end with all of the cell's points. "
             "Discrimination: the correlation of the cell's points with the rest of the student's score "
             "(point-biserial, the total minus this cell); empty where it is undefined. "
             "Failure messages are what the students see (hidden checks say only which check failed).</p>",
             pass_rate_chart(data.items)]
    rows = []
    for item in data.items:
        groups = failure_groups(data, item.grade_id) if item.cell_type != "written" else []
        messages = "<br>".join(f"{n}× {esc(text)}" for n, text in groups)
        waiting = f" ({item.waiting} waiting)" if item.waiting else ""
        rows.append(f"<tr><td>{esc(item.grade_id)}</td><td>{esc(item.cell_type)}</td><td>{esc(item.function)}</td>"
                    f'<td class="num">{item.max_points:g}</td><td class="num">{_num(item.mean_points)}</td>'
                    f'<td class="num">{_pct(item.pass_rate)}</td><td class="num">{_num(item.discrimination)}</td>'
                    f'<td class="num">{item.n}{esc(waiting)}</td><td class="msg">{messages}</td></tr>')
    head = "".join(f"<th>{h}</th>" for h in ("cell", "type", "tests", "points", "mean points", "pass rate",
                                              "discrimination", "n", "most common failure messages"))
    parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    return "".join(parts)


def _functions_section(data: AssignmentData) -> str:
    ran = [r for r in data.results if not r.status.fatal]
    functions: dict[str, list[str]] = {}
    for cell in data.cells:
        if cell.function:
            functions.setdefault(cell.function, []).append(cell.grade_id)
    rows = []
    for function, tests in functions.items():
        failed = sum(any(c.grade_id in tests and not c.passed for c in r.cells) for r in ran)
        rows.append((function, ", ".join(tests), failed, _pct(failed / len(ran)) if ran else ""))
    return ("<p>A submission fails a function when it loses the points of any of the function's test cells "
            f"(of the {len(ran)} submissions that ran to the end).</p>"
            + _table(["graded function", "test cells", "submissions failing it", "share"], rows, numeric=[2, 3]))


def _time_section(data: AssignmentData) -> str:
    ran = [r for r in data.results if r.status.runs or r.seconds > 0]
    if not ran:
        return "<p>No submission ran.</p>"
    seconds = [r.seconds for r in ran]
    slow = sorted(ran, key=lambda r: -r.seconds)[:SHOWN_SLOW]
    return (f"<p>{len(ran)} submissions ran: median {statistics.median(seconds):.1f} s, "
            f"slowest {max(seconds):.1f} s.</p>" + time_histogram(seconds)
            + "<h3>Slowest submissions</h3>"
            + _table(["student", "seconds", "status"], [(r.student_id, f"{r.seconds:.1f}", r.status.value)
                                                        for r in slow], numeric=[1]))


def _late_missing(data: AssignmentData) -> str:
    late = [r for r in data.summary if r["late"] == "true"]
    missing = [r for r in data.summary if r["status"] == Status.MISSING.value]
    known = any(r["late"] for r in data.summary)
    parts = [f"<h3>Late ({len(late)})</h3>"]
    if not known:
        parts.append("<p>The LMS's download did not say which submissions are late.</p>")
    elif late:
        parts.append(_table(["student", "name", "score", "late penalty"],
                            [(r["student_id"], r["display_name"], r["score"], r["late_penalty"]) for r in late]))
    else:
        parts.append("<p>None.</p>")
    parts.append(f"<h3>Missing ({len(missing)})</h3>")
    parts.append(_table(["student", "name"], [(r["student_id"], r["display_name"]) for r in missing])
                 if missing else "<p>None (without a roster, only the students who submitted are known).</p>")
    return "".join(parts)


def _written(data: AssignmentData) -> str:
    if not data.pending:
        return "<p>None: every written answer is graded.</p>"
    rows = [(grade_id, len(students), ", ".join(students)) for grade_id, students in sorted(data.pending.items())]
    return ("<p>Grade them in formgrader (Manual Grading), then run <code>pdl-grade export</code>.</p>"
            + _table(["written answer", "waiting", "students"], rows, numeric=[1]))


def _similarity_section(data: AssignmentData) -> str:
    cal = similarity.CALIBRATION
    settings = similarity.Settings()
    pairs = data.pairs
    flagged = [p for p in pairs if p.flagged]
    parts = [
        '<div class="note"><p><b>How to read a score.</b> A pair\'s score is the share of both students\' answer '
        "code (the graded code cells, without the starter code, comments, docstrings and whitespace, with every "
        "name replaced by one letter) that also occurs in the other's, in runs of at least "
        f"{settings.kgram} characters of that normalised code; a pair with less than {settings.min_chars} "
        "characters each counts as having that much, so a short function that everyone writes alike does not make "
        "a pair score high. 1 means every line matches. A high score flags a pair to look at; it is not evidence of "
        "copying by itself: a shared hint, a worked example or a study group make answers alike, and a common "
        "correct answer (the same one-liner) can be written independently.</p>"
        f"<p><b>Highlighted threshold: {settings.threshold:.2f}.</b> Calibrated on the course's own independent "
        f"correct answers ({esc(cal['measured_on'])}): the highest independent pair scored "
        f"{cal['highest_independent']['score']:.2f}; the threshold is {esc(cal['rule'])}. Its false-positive rate "
        f"on them is {100 * cal['false_positive_rate']:.0f}% of {cal['pairs']} pairs (95% upper bound "
        f"{100 * cal['false_positive_upper_95']:.0f}%), and {100 * cal['false_positive_rate_cells']:.0f}% of "
        f"{cal['cell_pairs']} single cells scored alone.</p></div>",
        f"<p>{len(pairs)} pairs compared; {len(flagged)} at or above the threshold.</p>",
    ]
    if not pairs:
        return "".join(parts)
    parts.append(similarity_histogram([p.score for p in pairs], settings.threshold))
    top = [p for p in pairs if p.score > 0][:max(SHOWN_PAIRS, min(len(flagged), 20))]
    parts.append(_table(["student a", "student b", "score", "matched / total characters", "cells (score)"],
                        [(p.student_a, p.student_b, f"{p.score:.2f}" + (" ⚑" if p.flagged else ""),
                          f"{p.matched} / {p.total}", p.functions()) for p in top], numeric=[2, 3]))
    sources = {r.student_id: similarity.answer_cells(r.notebook, data.starter) for r in data.results
               if r.notebook is not None}
    for pair in top[:SHOWN_PAIRS]:
        flag = ' <span class="flag">above the threshold</span>' if pair.flagged else ""
        parts.append(f"<h3>{esc(pair.student_a)} and {esc(pair.student_b)}: {pair.score:.2f}{flag}</h3>")
        for match in pair.cells[:3]:
            a, b = sources[pair.student_a][match.grade_id], sources[pair.student_b][match.grade_id]
            regions_a, regions_b = similarity.marked_regions(a, b, data.starter[match.grade_id])
            parts.append(f"<p>cell <code>{esc(match.grade_id)}</code>: {match.score:.2f} "
                         "(marked: the code that matches)</p>"
                         f'<div class="pair"><div><b>{esc(pair.student_a)}</b><pre>{_marked(a, regions_a)}</pre></div>'
                         f'<div><b>{esc(pair.student_b)}</b><pre>{_marked(b, regions_b)}</pre></div></div>')
    return "".join(parts)


def render(data: Sequence[AssignmentData]) -> str:
    names = ", ".join(d.name for d in data)
    body = [f"<h1>Class report: {esc(names)}</h1>",
            "<p>Written by pdl-grade from the grading output folder. Item statistics: "
            f"<code>{ITEM_STATS}</code>; every pair's similarity: <code>{SIMILARITY}</code> (beside this page).</p>"]
    for d in data:
        if len(data) > 1:
            body.append(f"<h1>{esc(d.name)}</h1>")
        body += ["<h2>Scores</h2>", _overview(d),
                 "<h2>Test cells and written answers</h2>", _cells_section(d),
                 "<h2>Graded functions</h2>", _functions_section(d),
                 "<h2>Run time</h2>", _time_section(d),
                 "<h2>Late and missing students</h2>", _late_missing(d),
                 "<h2>Written answers waiting for manual grading</h2>", _written(d),
                 "<h2>Similar submissions</h2>", _similarity_section(d)]
    # no script at all; the policy lets the page load nothing, so opened from disk or a mail it fetches nothing
    csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Class report: {esc(names)}</title><style>{CSS}</style></head><body>"
            + "".join(body) + "</body></html>\n")
