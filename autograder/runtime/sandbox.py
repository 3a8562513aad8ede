"""Every student kernel runs in its own bubblewrap sandbox.

No network, own pid/ipc/uts namespaces, a read-only system and venv, a size-capped
tmpfs as the only writable work dir, an unprivileged uid (one per worker slot, so
per-uid process limits do not couple students), rlimits, and a memory and pids cgroup
(cgroups.py: v1 where the host has it, else v2). The kernel talks to us over the ipc transport through one
runtime dir that is bind-mounted in; nothing else of the host file system is visible:
not the solutions, the gradebook, hidden tests or other submissions.
"""
from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.provisioning import LocalProvisioner

import pdl
from pdl.limits import MEMORY_MIB, NOTEBOOK_TIMEOUT_S

from .cgroups import Cgroup, group_name
from .kernel_client import ReadyClient
from .kernel_manager import LeanKernelManager

BWRAP = os.environ.get("PDL_BWRAP", "bwrap")  # another bubblewrap binary, if yours is elsewhere
SANDBOX_UID_BASE = 61000  # slot i runs as uid/gid SANDBOX_UID_BASE + i
COURSE_MOUNT = "/opt/course"
DATA_MOUNT = "/opt/course-data"
WORK = "/home/student"
FORKSERVER = "/opt/forkserver/forkserver.py"  # outside PYTHONPATH: students cannot import it
# Only capabilities in the host's bounding set: bwrap 0.8 silently keeps ALL capabilities when asked to add one
# that is not (the fork server checks its own set at start-up, see forkserver.py).
FORKSERVER_CAPS = ("CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_KILL")
GiB = 1 << 30
MiB = 1 << 20


class SandboxUnavailable(RuntimeError):
    pass


@dataclass
class Limits:
    address_space: int = 12 * GiB  # torch maps a lot of virtual memory; the cgroup limit is the real cap
    memory: int = MEMORY_MIB * MiB  # the kernel's cgroup limit (cgroups.py)
    cpu_seconds: int = NOTEBOOK_TIMEOUT_S  # CPU time: a notebook cannot use more than its wall-clock limit
    file_size: int = 256 * MiB
    processes: int = 256
    open_files: int = 512
    work_size: int = 256 * MiB  # the tmpfs of the work dir and /tmp
    threads: int = 1


@dataclass
class Sandbox:
    """How to wrap a kernel command for one worker slot."""

    slot: int = 0
    limits: Limits = field(default_factory=Limits)
    data_dir: Path | None = None
    enabled: bool = True
    gpu_devices: list[str] = field(default_factory=list)  # e.g. ["/dev/nvidia0"]

    @property
    def uid(self) -> int:
        return SANDBOX_UID_BASE + self.slot if os.geteuid() == 0 else os.geteuid()

    @staticmethod
    def available() -> bool:
        return shutil.which(BWRAP) is not None

    def environment(self) -> dict[str, str]:
        n = str(self.limits.threads)
        env = {
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": WORK, "LANG": "C.UTF-8",
            "PYTHONPATH": COURSE_MOUNT, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",  # the kernel debugger's start-up warning, on every kernel
            "KERAS_BACKEND": "torch", "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            "MPLCONFIGDIR": f"{WORK}/.matplotlib", "IPYTHONDIR": f"{WORK}/.ipython", "TMPDIR": WORK,
            "OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n,
            "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES", "") if self.gpu_devices else "",
        }
        if self.data_dir:
            env["PDL_DATA_DIR"] = DATA_MOUNT
        return env

    @staticmethod
    def _parent_dirs(args: list[str]) -> list[str]:
        """World-traversable parents for bind targets (bwrap would make them 0700, closed to the sandbox uid)."""
        parents: set[str] = set()
        for i, arg in enumerate(args):
            if arg in ("--ro-bind", "--bind", "--symlink") and i + 2 < len(args):
                parents |= {str(p) for p in Path(args[i + 2]).parents if str(p) != "/"}
        out: list[str] = []
        for parent in sorted(parents, key=lambda p: p.count("/")):
            out += ["--perms", "0755", "--dir", parent]
        return out

    def _mounts(self, runtime_dir: Path, forkserver: bool = False) -> list[str]:
        args: list[str] = []
        for top in ("/usr", "/lib", "/lib64", "/bin", "/sbin"):
            if os.path.islink(top):
                args += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                args += ["--ro-bind", top, top]
        for name in ("ld.so.cache", "localtime", "nsswitch.conf", "passwd", "group", "hosts",
                     "matplotlibrc", "fonts", "alternatives", "ssl"):
            if os.path.exists(f"/etc/{name}"):
                args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        prefixes = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
        prefixes |= {Path(sysconfig.get_paths()["purelib"]).resolve()}
        for prefix in sorted(prefixes):
            if not str(prefix).startswith("/usr"):
                args += ["--ro-bind", str(prefix), str(prefix)]
        if Path(sys.prefix) != Path(sys.prefix).resolve():  # a venv reached through a symlink
            args += ["--symlink", str(Path(sys.prefix).resolve()), sys.prefix]
        args += ["--ro-bind", str(Path(pdl.__file__).parent), f"{COURSE_MOUNT}/pdl"]
        if self.data_dir:
            args += ["--ro-bind", str(self.data_dir), DATA_MOUNT]
        args += ["--bind", str(runtime_dir), str(runtime_dir)]
        if forkserver:
            args += ["--ro-bind", str(Path(__file__).with_name("forkserver.py")), FORKSERVER]
        # The tmpfs mounts come first, so that binds below /tmp (a venv there, the runtime dir) are not hidden.
        # Under a fork server /tmp is shared by the slot's successive kernels, so it is closed to them: each
        # kernel gets a private tmpfs home instead (see forkserver.py).
        size = str(self.limits.work_size)
        scratch = ["--proc", "/proc", "--dev", "/dev",
                   "--perms", "0755" if forkserver else "1777", "--size", size, "--tmpfs", "/tmp",
                   "--perms", "0777", "--size", size, "--tmpfs", WORK]
        args = scratch + self._parent_dirs(args) + args
        for dev in self.gpu_devices:
            args += ["--dev-bind", dev, dev]
        if self.gpu_devices:
            args += ["--ro-bind", "/sys", "/sys"]
        return args

    def wrap(self, cmd: list[str], runtime_dir: Path, forkserver: bool = False) -> list[str]:
        """The kernel command, inside limits, an unprivileged uid and bwrap.

        ``forkserver``: the command is the slot's fork server, which stays root inside the
        sandbox with the capabilities it needs to give each forked kernel a private home and
        then drop it to the slot's uid (root hosts only).
        """
        if not self.enabled:
            return cmd
        if not self.available():
            raise SandboxUnavailable("bubblewrap (bwrap) is not installed; install it (apt-get install bubblewrap) "
                                     "or pass --unsafe-no-sandbox")
        lim = self.limits
        prefix = ["prlimit", f"--as={lim.address_space}", f"--cpu={lim.cpu_seconds}",
                  f"--fsize={lim.file_size}", f"--nproc={lim.processes}", f"--nofile={lim.open_files}", "--"]
        bwrap = [BWRAP, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                 "--die-with-parent", "--new-session", "--clearenv", "--hostname", "sandbox"]
        if forkserver:
            if os.geteuid() != 0:
                raise SandboxUnavailable("the fork server needs root (it drops each kernel to its own uid)")
            bwrap += ["--cap-drop", "ALL"] + [a for cap in FORKSERVER_CAPS for a in ("--cap-add", cap)]
            inner = []
        elif os.geteuid() == 0:
            # As root, bwrap (no user namespace) builds the mounts; inside, setpriv drops to a plain uid with
            # no capabilities left, so every file is opened as that uid.
            bwrap += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
                      "--cap-add", "CAP_SETPCAP"]
            inner = ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
                     "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
        else:  # unprivileged bwrap: a user namespace of our own uid, and no nested ones
            bwrap += ["--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
            inner = []
        for key, value in self.environment().items():
            bwrap += ["--setenv", key, value]
        bwrap += self._mounts(runtime_dir, forkserver) + ["--chdir", WORK, "--"]
        return prefix + bwrap + inner + cmd


# pdl modules whose install() every kernel runs at start: the output cap and the transform memo
KERNEL_SETUP = ("pdl.kernel.outcap", "pdl.kernel.transform_memo")
# the kernel application: ipykernel's, doing only the I/O work whose result the grader reads
GRADING_KERNEL_APP = "pdl.kernel.grading_kernel.GradingKernelApp"
GRADING_KERNEL_MODULE = GRADING_KERNEL_APP.rsplit(".", 1)[0]  # launched with -m, preloaded by fork servers


def kernel_config() -> dict[str, dict[str, Any]]:
    """Every kernel's settings beyond its connection file: no history file, KERNEL_SETUP installed
    (in one exec line: each costs a run_cell). A launched kernel gets them as command-line options,
    a forked one as a traitlets Config (parsing the command line is a third of its start-up).
    Either way the kernel is GRADING_KERNEL_APP's (pdl/kernel/grading_kernel.py)."""
    setup = "; ".join(f"__import__({m!r}).{m.split('.', 1)[1]}.install()" for m in KERNEL_SETUP)
    return {"HistoryManager": {"enabled": False}, "IPKernelApp": {"exec_lines": [setup]}}


SANDBOXED_KERNEL = "pdl-sandboxed"  # a kernel launched in its own sandbox
FORKED_KERNEL = "pdl-forked"  # a kernel forked by a slot's fork server (forkserver_client.py)


def grading_kernel_spec(name: str) -> KernelSpec:
    """The kernelspec of a grading kernel: GRADING_KERNEL_APP's module, and the provisioner (registered under
    jupyter_client's ``kernel_provisioners`` entry point in pyproject.toml) that starts its process.

    A launched kernel gets kernel_config() as traitlets options; a forked one only its connection file
    (the fork server applies the settings)."""
    argv = [sys.executable, "-m", GRADING_KERNEL_MODULE, "-f", "{connection_file}"]
    if name == SANDBOXED_KERNEL:
        argv += [f"--{section}.{key}={item}" for section, values in kernel_config().items()
                 for key, value in values.items() for item in (value if isinstance(value, list) else [value])]
    return KernelSpec(argv=argv, display_name=f"Python 3 ({name})", language="python",
                      interrupt_mode="message",  # signals cannot reach a kernel behind bwrap
                      metadata={"kernel_provisioner": {"provisioner_name": name}})


class GradingKernelSpecs(KernelSpecManager):
    """The two grading kernels' specs, made here rather than read from the host's kernelspec folders."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        if kernel_name in (SANDBOXED_KERNEL, FORKED_KERNEL):
            return grading_kernel_spec(kernel_name)
        return super().get_kernel_spec(kernel_name)


class SandboxProvisioner(LocalProvisioner):
    """LocalProvisioner whose kernel command runs inside the manager's Sandbox and a cgroup of its own."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        km = self.parent
        assert isinstance(km, SandboxedKernelManager)
        if km.sandbox.enabled and not km.cgroup.dirs:
            lim = km.sandbox.limits
            km.cgroup = Cgroup.create(group_name(km.sandbox.slot),
                                      lim.memory, lim.processes)
        return await super().launch_kernel(km.cgroup.wrap(km.sandbox.wrap(cmd, km.runtime_dir)), **kwargs)


class SandboxedKernelManager(LeanKernelManager):
    """An ipc-transport grading kernel started by SandboxProvisioner (or, for FORKED_KERNEL, the fork
    server's provisioner), with the sandbox and the cgroups that the provisioner reads from it."""

    def __init__(self, sandbox: Sandbox, runtime_dir: Path, kernel_name: str = SANDBOXED_KERNEL, **kwargs: Any):
        runtime_dir.mkdir(parents=True, exist_ok=True)
        super().__init__(transport="ipc", ip=str(runtime_dir / "k"), connection_file=str(runtime_dir / "kernel.json"),
                         kernel_name=kernel_name, kernel_spec_manager=GradingKernelSpecs(), **kwargs)
        self.sandbox = sandbox
        self.runtime_dir = runtime_dir
        self.client_factory = ReadyClient
        self.cgroup = Cgroup()
        if sandbox.enabled and os.geteuid() == 0:
            os.chown(runtime_dir, sandbox.uid, sandbox.uid)

    def release_sandbox(self) -> None:
        """Kill whatever the student left running and remove the cgroups."""
        self.cgroup.remove()

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        if self.sandbox.enabled and os.geteuid() == 0:
            os.chown(self.connection_file, self.sandbox.uid, self.sandbox.uid)
