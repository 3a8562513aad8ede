"""Kernel side: cap what one cell may print, before it is even sent to the grader.

Installed at kernel start by the autograder (``install()``). A student's loop that
prints 100 MB then loses its output past the cap instead of flooding the channel
that also carries the test results. The grader caps what it receives as well.
"""
from __future__ import annotations

import sys

LIMIT = 1 << 20  # characters per cell, stdout and stderr together


def install(limit: int = LIMIT) -> None:
    from IPython import get_ipython

    shell = get_ipython()
    state = {"used": 0, "noted": False}

    def wrap(write):
        def capped(text, *args, **kwargs):
            room = limit - state["used"]
            state["used"] += len(text)
            if room > 0:
                return write(text[:room], *args, **kwargs)
            if not state["noted"]:
                state["noted"] = True
                write(f"\n[output past {limit} characters in this cell was dropped]\n")
            return len(text)

        capped._pdl_capped = True
        return capped

    def before_cell(*_: object) -> None:
        # IPython swaps each stream's write around every cell (to record output), so wrap it anew.
        state["used"], state["noted"] = 0, False
        for stream in (sys.stdout, sys.stderr):
            if not getattr(stream.write, "_pdl_capped", False):
                stream.write = wrap(stream.write)

    if shell is not None:
        shell.events.register("pre_run_cell", before_cell)
