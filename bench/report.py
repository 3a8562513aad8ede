"""Figures from one side-by-side run, the machine they were measured on, and the JSON and Markdown files."""
from __future__ import annotations

import dataclasses
import json
import os
import platform
import subprocess
import sys
from collections import Counter
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from .classes import Member
from .compare import Difference
from .nbgrader_anchor import AnchorRun
from .pdl_run import PdlRun

GOAL_RATIO = 10.0  # issue 6: pdl-grade >= 10x nbgrader autograde on ex01, 2 cores, sandbox on
GOAL_OVERHEAD_S = 0.150  # issue 6: per-submission overhead on ex01
PACKAGES = ["nbgrader", "nbclient", "jupyter-client", "ipykernel", "numpy", "scipy", "torch", "keras", "ray"]
COMPUTE_SOURCE = ("pdl-grade: the field compute_seconds of each stored result (out/results/<assignment>/<student>/"
                  "<key>.json), the notebook's cells' summed time in the kernel, from the start of each execute request (stamped "
                  "in the kernel's reply: the grading kernel sends no execute_input) to its reply; "
                  "nbgrader: the same sum from the cell timing metadata of its autograded notebooks (its stock kernel "
                  "announces each start with execute_input); "
                  "alone: the same field from a sample of the class graded again with one worker and the main run's threads per kernel (out/pdl-alone)")


def _run(*cmd: str, cwd: Path | None = None) -> str:
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine(root: Path) -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    dirty = _run("git", "status", "--porcelain", "--", "autograder", "pdl", "bench", cwd=root)
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_commit": _run("git", "rev-parse", "HEAD", cwd=root),
        # the grader's code as run may differ from the commit (others commit in parallel)
        "git_dirty_paths": [line.split(maxsplit=1)[1] for line in dirty.splitlines() if line.strip()],
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable_cpus(),
        "cpu_model": model,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30, 1),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "bwrap": _run("bwrap", "--version"),
        "versions": versions,
    }


def usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def figures(name: str, members: list[Member], anchor: AnchorRun, pdl: PdlRun, solo: PdlRun,
            diffs: list[Difference], load: dict[str, list[float]], again: PdlRun | None = None) -> dict[str, Any]:
    """Rates, ratio, overheads and the score comparison for one assignment.

    ``solo`` is a sample of the class graded with one worker: its cell times are the students'
    code on an otherwise idle machine, which the overhead subtracts. ``again`` is the same class
    graded after nbgrader: pdl-grade's wall time is the mean of the two runs.
    """
    n = len(members)
    pdl_compute = sum(pdl.compute_seconds.values())
    nbg_compute = sum(anchor.compute_seconds.values())
    alone = sum(solo.compute_seconds.values()) / max(1, len(solo.status))
    walls = [pdl.wall_seconds] + ([again.wall_seconds] if again is not None else [])
    runs_agree = again is None or (again.scores == pdl.scores and again.status == pdl.status)
    pdl = dataclasses.replace(pdl, wall_seconds=sum(walls) / len(walls))
    pdl_rate, nbg_rate = n / pdl.wall_seconds, n / anchor.wall_seconds
    cores = min(pdl.workers, usable_cpus())  # the machine time a submission costs, less its own code
    pdl_overhead = pdl.wall_seconds * cores / n - alone
    return {
        "assignment": name,
        "submissions": n,
        "mix": dict(Counter(m.kind for m in members)),
        "labels": dict(sorted(Counter(m.label for m in members).items())),
        "nbgrader": {
            "command": f"nbgrader autograde {name}",
            "wall_seconds": round(anchor.wall_seconds, 3),
            "submissions_per_second": round(nbg_rate, 4),
            "notebooks_processed": len(anchor.processed),
            "returncode": anchor.returncode,
            "student_code_seconds_per_submission": round(nbg_compute / n, 4),
            # one notebook at a time: worker-seconds = wall
            "overhead_seconds_per_submission": round(anchor.wall_seconds / n - nbg_compute / n, 4),
        },
        "pdl_grade": {
            "command": f"pdl-grade grade {name} <submitted> --out <dir> --workers {pdl.workers}",
            "sandbox": True,
            "workers": pdl.workers,
            "wall_seconds": round(pdl.wall_seconds, 3),
            "runs_wall_seconds": [round(w, 3) for w in walls],  # before and after nbgrader; the mean is used
            "runs_scores_identical": runs_agree,
            "submissions_per_second": round(pdl_rate, 4),
            "status": dict(Counter(pdl.status.values())),
            "compute_seconds_present": len(pdl.compute_seconds),
            # the cells' time in this run, waits for a core included (more kernels than cores)
            "student_code_seconds_per_submission": round(pdl_compute / n, 4),
            "student_code_seconds_alone_per_submission": round(alone, 4),
            "alone_sample": {"submissions": len(solo.status), "wall_seconds": round(solo.wall_seconds, 3)},
            "kernel_seconds_per_submission": round(sum(pdl.kernel_seconds.values()) / n, 4),
            "worker_seconds_per_submission": round(pdl.wall_seconds * pdl.workers / n, 4),
            "cores_in_use": cores,
            "core_seconds_per_submission": round(pdl.wall_seconds * cores / n, 4),
            # wall time in which no kernel of this batch ran: start-up, nbgrader release, gradebook, CSVs, feedback
            "seconds_outside_kernels_estimate": round(pdl.wall_seconds - sum(pdl.kernel_seconds.values()) / pdl.workers, 3),
            "overhead_seconds_per_submission": round(pdl_overhead, 4),
        },
        "ratio": round(pdl_rate / nbg_rate, 3),
        "student_code_seconds_source": COMPUTE_SOURCE if len(pdl.compute_seconds) == n else
        f"compute_seconds missing from {n - len(pdl.compute_seconds)} results (counted as 0); {COMPUTE_SOURCE}",
        "goals": {"ratio_at_least": GOAL_RATIO, "overhead_at_most_seconds": GOAL_OVERHEAD_S,
                  "ratio_met": pdl_rate / nbg_rate >= GOAL_RATIO, "overhead_met": pdl_overhead <= GOAL_OVERHEAD_S},
        "scores_identical": not diffs and runs_agree,
        "students_differing": len({d.student_id for d in diffs}),
        "differences": [d.row() for d in diffs],
        "loadavg": load,
    }


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"Benchmark `{report['size']}`: {m['date']}, commit `{m['git_commit'][:10]}`"
        f"{' (+ uncommitted grader changes)' if m['git_dirty_paths'] else ''}, {m['cpus_usable']} cores "
        f"({m['cpu_model']}), Python {m['python']}, nbgrader {m['versions']['nbgrader']}, seed {report['seed']}.",
        "",
        "| assignment | submissions | `nbgrader autograde` | `pdl-grade grade` (sandbox on) | ratio | pdl-grade overhead / submission "
        "| scores identical |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in report["assignments"]:
        nbg, pdl = r["nbgrader"], r["pdl_grade"]
        same = "yes" if r["scores_identical"] else f"NO: {len(r['differences'])} cells of {r['students_differing']} students differ"
        lines.append(
            f"| {r['assignment']} | {r['submissions']} | {nbg['submissions_per_second']:.2f}/s ({nbg['wall_seconds']:.0f} s) "
            f"| {pdl['submissions_per_second']:.2f}/s ({pdl['wall_seconds']:.0f} s, {pdl['workers']} workers"
            f"{'; runs ' + ' and '.join(f'{w:.0f}' for w in pdl['runs_wall_seconds']) + ' s' if len(pdl.get('runs_wall_seconds', [])) > 1 else ''}) "
            f"| {r['ratio']:.1f}× | {pdl['overhead_seconds_per_submission'] * 1000:.0f} ms "
            f"| {same} |")
    for note in report["skipped"]:
        lines.append(f"| {note['assignment']} | skipped | | | | | {note['reason']} |")
    lines += ["", "pdl-grade graded each class twice, before and after nbgrader (the runs' times in brackets), "
              "and its rate is from their mean wall time: the machine's speed can drift while nbgrader runs.",
              "", "Overhead = wall × cores in use (the smaller of workers and cores) / submissions − the students' own "
              "code time per submission, measured alone: a sample of the class (every 10th submission, at least 3; here "
              + ", ".join(f"{r['pdl_grade']['alone_sample']['submissions']} of {r['submissions']}"
                          for r in report["assignments"])
              + ") graded again with one worker whose kernels get the main run's threads, the cells' summed execution time in the kernel from its stored "
              "results. It is the machine "
              "time one submission costs beyond its own code. (The main run's cell times are longer: with more kernels "
              "than cores, a cell also waits for a core.) Load average (1 min) before/after: "
              + "; ".join(f"{r['assignment']}: " + ", ".join(f"{k} {v[0]:.1f}" for k, v in r["loadavg"].items())
                          for r in report["assignments"]) + "."]
    diffs = [d for r in report["assignments"] for d in r["differences"]]
    if diffs:
        lines += ["", f"Score differences ({len(diffs)}; nbgrader = its gradebook, 0 where it could not grade):", "",
                  "| student | kind | answer | cell | nbgrader | pdl-grade | nbgrader graded it | pdl-grade status "
                  "| likely cause |",
                  "|---|---|---|---|---:|---:|---|---|---|"]
        for d in diffs[:40]:
            lines.append(f"| {d['student_id']} | {d['kind']} | {d['label']} | {d['grade_id']} | {d['nbgrader']} "
                         f"| {d['pdl_grade']} | {'yes' if d['nbgrader_processed'] else 'no'} | {d['pdl_status'] or 'absent'} "
                         f"| {d['cause']} |")
        if len(diffs) > 40:
            lines.append(f"| … {len(diffs) - 40} more in the JSON | | | | | | | | |")
    return "\n".join(lines) + "\n"


def write(folder: Path, size: str, report: dict[str, Any]) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    js, md = folder / f"{size}.json", folder / f"{size}.md"
    js.write_text(json.dumps(report, indent=1, default=str) + "\n")
    md.write_text(markdown(report))
    return js, md
