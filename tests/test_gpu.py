"""GPU device selection for the sandbox, on a fake /dev (the CI machine has no GPU)."""
from __future__ import annotations

from autograder.runtime.gpu import sandbox_devices, visible_indices


def fake_dev(tmp_path, names):
    for name in names:
        (tmp_path / name).touch()
    return tmp_path


def test_no_gpu_binds_nothing(tmp_path):
    dev = fake_dev(tmp_path, ["null", "nvidiactl"])
    assert sandbox_devices("auto", {}, dev) == []


def test_visible_devices_pick_the_nodes(tmp_path):
    dev = fake_dev(tmp_path, ["nvidia0", "nvidia1", "nvidia2", "nvidiactl", "nvidia-uvm"])
    assert visible_indices({}, dev) == [0, 1, 2]
    assert sandbox_devices("auto", {"CUDA_VISIBLE_DEVICES": "2"}, dev) == [
        str(dev / "nvidia2"), str(dev / "nvidiactl"), str(dev / "nvidia-uvm")]
    assert sandbox_devices("auto", {"CUDA_VISIBLE_DEVICES": ""}, dev) == []  # Ray's "no GPU for this task"
    assert sandbox_devices("off", {"CUDA_VISIBLE_DEVICES": "0"}, dev) == []
