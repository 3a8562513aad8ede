"""The fork server: runs INSIDE a worker slot's bubblewrap sandbox, forks one fresh kernel per submission.

Starting Python, ipykernel, numpy (and torch for the Keras exercises) costs 0.7-6 s of CPU
per kernel; forking a parent that has already imported them costs ~10 ms. The parent
never runs student code. Each child, before any student code runs:

  1. waits until the grader has put it in a cgroup of its own (memory, pids, kill-all);
  2. gets a private mount namespace with a fresh tmpfs as its home (nothing left by an
     earlier submission of this slot is visible; /tmp is root-owned and read-only to it);
  3. drops to the slot's unprivileged uid, clears every capability (bounding set
     included) and sets no_new_privs; the parent is root and undumpable, so the child
     can neither signal, trace nor read it;
  4. reseeds `random` and NumPy's legacy generator, as a fresh process would be;
  5. starts the grader's kernel app (an IPKernelApp) on the connection file the grader wrote,
     with the grader's settings.

The kernel app and its settings come once, in the hello message: where the app has a
``prefork`` step (pdl.kernel.grading_kernel makes the IPython shell there), the server runs it
after the preload, so that every child starts from its result.

Protocol: JSON lines on stdin (requests) and stdout (replies and exit notices). Stdlib
only until the preload, because it runs from the sandbox's read-only course mount.
"""
from __future__ import annotations

import ctypes
import gc
import importlib
import json
import os
import select
import signal
import sys

CLONE_NEWNS = 0x00020000
MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 2, 4, 1 << 14, 1 << 18
PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 4, 24, 38
LAST_CAP = 63  # higher than any kernel's; EINVAL past the real last one is ignored

# what IPKernelApp imports at start-up (the debugger alone is 0.1 s); preloaded once per server.
# Not matplotlib_inline.backend_inline: importing it hooks plots into the running shell, so the
# kernel must be the one that imports it (else figures show as text, without their PNG).
KERNEL_MODULES = ["ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger",
                  "ipykernel.comm", "IPython.core.completer", "IPython.core.completerlib", "IPython.core.debugger",
                  "IPython.core.oinspect", "IPython.extensions.storemagic", "tornado.platform.asyncio", "faulthandler"]

libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def reply(message: dict) -> None:
    os.write(1, (json.dumps(message) + "\n").encode())


def enter_child_sandbox(home: str, uid: int, home_size: int) -> None:
    """Steps 2-4 above, in the forked child (still root inside the slot's sandbox)."""
    _check(libc.unshare(CLONE_NEWNS), "unshare")
    _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make mounts private")
    options = f"size={home_size},mode=0700,uid={uid},gid={uid}".encode()
    _check(libc.mount(b"tmpfs", home.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options), "mount home")
    if os.geteuid() == 0:
        for cap in range(LAST_CAP + 1):
            libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)  # from root to a plain uid: permitted and effective caps are cleared
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    os.chdir(home)
    import random

    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()


def run_kernel(request: dict, app_class: type, config: object, go_fd: int) -> None:
    """The child: wait for the grader's go, enter the sandbox, become a kernel (an ``app_class``
    with ``config``, a traitlets Config). Never returns."""
    code = 1
    try:
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        go = os.read(go_fd, 16)  # the grader has moved us into our cgroup
        os.closerange(3, 65536)
        if go != b"go":
            os._exit(3)
        enter_child_sandbox(request["home"], int(request["uid"]), int(request["home_size"]))
        class ConfiguredKernelApp(app_class):  # type: ignore[misc,valid-type]
            def parse_command_line(self, argv: object = None) -> None:
                pass  # no command line: the settings come as a Config (parsing costs ~15 ms a kernel)

        config.IPKernelApp.connection_file = request["connection_file"]
        app = ConfiguredKernelApp.instance(config=config)
        app.initialize([])
        app.start()
        code = 0
    except BaseException as exc:  # noqa: BLE001 (report anything, then exit)
        try:
            os.write(2, f"fork server child failed: {type(exc).__name__}: {exc}\n".encode())
        except OSError:
            pass
    finally:
        os._exit(code)


def warm_caches() -> None:
    """Compile, once in the server, what every kernel otherwise compiles for its first cell:
    the tokenizer's regular expressions and IPython's input transformers' (~5 ms a kernel)."""
    import io
    import tokenize

    list(tokenize.generate_tokens(io.StringIO("x = 1\n").readline))
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        TransformerManager().transform_cell("x = 1\n")
    except Exception:  # noqa: BLE001 (only a cost)
        pass


def prepare_app(hello: dict) -> tuple[type, object]:
    """The kernel app class and its Config, from the hello message, after the app's prefork step."""
    from traitlets.config import Config

    module, name = hello["app"].rsplit(".", 1)
    app_class = getattr(importlib.import_module(module), name)  # an IPKernelApp
    prefork = getattr(app_class, "prefork", None)
    if prefork is not None:
        import threading

        before = (threading.active_count(), sorted(os.listdir("/proc/self/fd")))
        prefork(Config(hello["config"]))
        after = (threading.active_count(), sorted(os.listdir("/proc/self/fd")))
        if after != before:  # a fork copies neither threads nor (after closerange) files usably
            raise RuntimeError(f"the kernel app's prefork left threads or files open: {before} -> {after}")
    return app_class, Config(hello["config"])


def preload(modules: list[str]) -> list[str]:
    """Import what the assignment's kernels will import; report what failed (harmless)."""
    failed = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 (a missing optional module only costs speed)
            failed.append(name)
    return failed


# CAP_KILL, CAP_SETGID, CAP_SETUID, CAP_SETPCAP, CAP_SYS_ADMIN: what the sandbox grants this server
EXPECTED_CAPS = (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 21)


def effective_caps() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    return -1


def serve() -> None:
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # the kernels (other uids) cannot read or trace this process
    hello = json.loads(sys.stdin.buffer.readline())
    if os.geteuid() == 0 and effective_caps() & ~EXPECTED_CAPS:
        # bubblewrap kept more than it was asked to keep: refuse, rather than run with them
        reply({"op": "refused", "caps": hex(effective_caps())})
        os._exit(4)
    # what IPKernelApp sets before any student imports matplotlib; the preload imports it first
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    # threads that the preloaded libraries start (BLAS pools) inherit a blocked SIGCHLD, so the
    # exit notices below interrupt none of their system calls; this thread unblocks it again
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    failed = preload([*KERNEL_MODULES, *hello.get("preload", [])])
    warm_caches()
    app_class, config = prepare_app(hello)
    # Keep the preloaded objects out of every child's garbage collections: a full collection
    # walks them all (~70 ms), writing to each page it touches, which the fork must then copy.
    gc.collect()
    gc.freeze()
    reply({"op": "ready", "failed": failed, "pid": os.getpid()})
    children: dict[int, int] = {}  # pid -> write end of its go pipe
    # A child's exit wakes the loop at once (the grader waits for it before the slot's next kernel)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write, warn_on_full_buffer=False)  # a full pipe already means "wake up"
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler of its own, so that the wakeup fd hears it
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
    buffer = b""
    while True:
        readable, _, _ = select.select([0, wake_read], [], [], 1.0)
        if wake_read in readable:
            os.read(wake_read, 4096)
        if 0 in readable:
            chunk = os.read(0, 65536)
            if not chunk:  # the grader is gone: take every child with us
                for pid in children:
                    os.kill(pid, signal.SIGKILL)
                os._exit(0)
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                request = json.loads(line)
                op = request["op"]
                if op == "fork":
                    read_end, write_end = os.pipe()
                    pid = os.fork()
                    if pid == 0:
                        signal.set_wakeup_fd(-1)
                        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                        os.close(write_end)
                        run_kernel(request, app_class, config, read_end)
                    os.close(read_end)
                    children[pid] = write_end
                    reply({"op": "forked", "id": request["id"], "pid": pid})
                elif op == "go":
                    fd = children.get(request["pid"])
                    if fd is not None:
                        os.write(fd, b"go")
                        os.close(fd)
                        children[request["pid"]] = -1
                elif op == "kill":
                    try:
                        os.kill(request["pid"], signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                elif op == "reap":  # every process but this one and the sandbox's init
                    try:
                        os.kill(-1, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    reply({"op": "reaped", "id": request["id"]})
        while True:  # collect exits (also of orphans re-parented to the sandbox's init: not ours)
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            fd = children.pop(pid, None)
            if fd not in (None, -1):
                os.close(fd)
            reply({"op": "exit", "pid": pid, "status": os.waitstatus_to_exitcode(status)})


if __name__ == "__main__":
    serve()
