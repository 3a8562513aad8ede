"""Which GPU device files a sandbox may bind: the ones this process is allowed to use.

Ray (or the instructor) sets CUDA_VISIBLE_DEVICES; the sandbox then binds only those
/dev/nvidiaN nodes plus the driver's control and UVM nodes, and /sys read-only. Without a
GPU, or with ``--gpu off``, nothing is bound and PyTorch runs on the CPU.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

CONTROL_NODES = ("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools")


def _all_gpu_nodes(dev: Path = Path("/dev")) -> list[int]:
    return sorted(int(m.group(1)) for p in dev.glob("nvidia*") if (m := re.fullmatch(r"nvidia(\d+)", p.name)))


def visible_indices(environ: dict[str, str] | None = None, dev: Path = Path("/dev")) -> list[int]:
    """GPU indices allowed by CUDA_VISIBLE_DEVICES (all present ones when it is unset)."""
    env = os.environ if environ is None else environ
    present = _all_gpu_nodes(dev)
    value = env.get("CUDA_VISIBLE_DEVICES")
    if value is None:
        return present
    wanted = [int(v) for v in value.split(",") if v.strip().isdigit()]
    return [i for i in wanted if i in present]


def sandbox_devices(mode: str, environ: dict[str, str] | None = None, dev: Path = Path("/dev")) -> list[str]:
    """The device files to --dev-bind for ``--gpu mode`` ("auto" or "off")."""
    if mode == "off":
        return []
    gpus = [str(dev / f"nvidia{i}") for i in visible_indices(environ, dev)]
    if not gpus:
        return []
    control = [str(dev / Path(p).name) for p in CONTROL_NODES if (dev / Path(p).name).exists()]
    return gpus + control
