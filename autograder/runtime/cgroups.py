"""A memory and pids cgroup per kernel, where the host lets us make one (v1, else v2).

rlimits cap one process; a cgroup caps the whole sandbox (a fork bomb, a student's
subprocesses, tmpfs pages) and lets us kill everything that is left after a kernel.
The kernel command enters its groups itself before it execs, so there is no window
in which a child could escape.
"""
from __future__ import annotations

import os
import shlex
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PREFIX = "pdl-"  # every group this grader makes; sweep_stale removes a dead grader's


def group_name(slot: int, what: str = "") -> str:
    """A new group's name: PREFIX, this grader's pid (which sweep_stale reads back), the worker slot,
    what runs in it (e.g. "server"), and a random part."""
    return "-".join(filter(None, [f"{PREFIX}{os.getpid()}", str(slot), what, uuid.uuid4().hex[:8]]))


def _own_paths() -> dict[str, str]:
    """controller -> this process's cgroup path ('' is the v2 unified hierarchy)."""
    paths = {}
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                paths[controller] = path
    except OSError:
        pass
    return paths


@dataclass
class Cgroup:
    dirs: list[Path] = field(default_factory=list)
    memory_dir: Path | None = None
    version: int = 0

    @classmethod
    def create(cls, name: str, memory_bytes: int, max_pids: int) -> "Cgroup":
        """Make the groups; an empty Cgroup (no dirs) where the host does not allow it."""
        own = _own_paths()
        group = cls()
        if os.geteuid() != 0:
            return group
        try:
            if (ROOT / "memory").is_dir() and "memory" in own:  # cgroup v1
                group.version = 1
                memory = ROOT / "memory" / own["memory"].lstrip("/") / name
                memory.mkdir()
                group.dirs.append(memory)
                group.memory_dir = memory
                (memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
                if (memory / "memory.memsw.limit_in_bytes").exists():
                    (memory / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
                if (ROOT / "pids").is_dir() and "pids" in own:
                    pids = ROOT / "pids" / own["pids"].lstrip("/") / name
                    pids.mkdir()
                    group.dirs.append(pids)
                    (pids / "pids.max").write_text(str(max_pids))
            elif (ROOT / "cgroup.controllers").is_file() and "" in own:  # cgroup v2
                parent = ROOT / own[""].lstrip("/")
                enabled = (parent / "cgroup.subtree_control").read_text().split()
                if "memory" in enabled or "pids" in enabled:
                    group.version = 2
                    unified = parent / name
                    unified.mkdir()
                    group.dirs.append(unified)
                    if "memory" in enabled:
                        group.memory_dir = unified
                        (unified / "memory.max").write_text(str(memory_bytes))
                        (unified / "memory.swap.max").write_text("0")
                    if "pids" in enabled:
                        (unified / "pids.max").write_text(str(max_pids))
        except OSError:
            group.remove()
            return cls()
        return group

    def wrap(self, cmd: list[str]) -> list[str]:
        """``cmd`` preceded by a shell that moves itself into the groups, then execs."""
        if not self.dirs:
            return cmd
        enter = "; ".join(f"echo $$ > {shlex.quote(str(d / 'cgroup.procs'))}" for d in self.dirs)
        return ["/bin/sh", "-c", f'{enter} && exec "$@"', "pdl-cgroup", *cmd]

    def add(self, pid: int) -> None:
        """Move a running process into the groups (a forked kernel, before it runs student code)."""
        for d in self.dirs:
            (d / "cgroup.procs").write_text(str(pid))

    def out_of_memory(self) -> bool:
        if self.memory_dir is None:
            return False
        try:
            events = (self.memory_dir / ("memory.oom_control" if self.version == 1 else "memory.events")).read_text()
            return any(line.startswith("oom_kill ") and not line.endswith(" 0") for line in events.splitlines())
        except (OSError, ValueError):
            return False

    def pids(self) -> set[int]:
        """The host pids of every process in the groups."""
        pids: set[int] = set()
        for d in self.dirs:
            try:
                pids |= {int(p) for p in (d / "cgroup.procs").read_text().split()}
            except OSError:
                pass
        return pids

    def kill_all(self) -> None:
        """SIGKILL every process left in the groups (a student's background children included)."""
        for _ in range(50):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.02)

    def remove(self) -> None:
        self.kill_all()
        for d in self.dirs:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # still emptying
                    time.sleep(0.02)
        self.dirs = []


def sweep_stale(prefix: str = PREFIX) -> int:
    """Remove groups left by a grader that was killed (their name holds its pid)."""
    removed = 0
    own = _own_paths()
    parents = [ROOT / c / own[c].lstrip("/") for c in ("memory", "pids") if c in own and (ROOT / c).is_dir()]
    if "" in own and (ROOT / "cgroup.controllers").is_file():
        parents.append(ROOT / own[""].lstrip("/"))
    for parent in parents:
        for group in parent.glob(f"{prefix}*"):
            try:
                pid = int(group.name.split("-")[1])
            except (IndexError, ValueError):
                continue
            if pid == os.getpid() or Path(f"/proc/{pid}").exists():
                continue
            stale = Cgroup(dirs=[group])
            stale.remove()
            removed += 1
    return removed
