"""The private upstream internals the project still relies on, each named, and each upstream method we copy
or replace, pinned by a hash of its source.

The pins in pyproject.toml are exact because of these: an upgrade that renames one of them, or changes a method
whose body we copied or whose behaviour we replace, fails here with the file of ours to recheck, instead of
grading differently or slower without a word. After rechecking that file against the new upstream code,
update the hash here (``python tests/test_upstream_contract.py`` prints the current ones).
"""
from __future__ import annotations

import hashlib
import importlib
import inspect
import sys
from typing import Any

import pytest

# (upstream "module:Class.attr", our file that relies on it, why it is still private)
PRIVATE_NAMES = [
    ("jupyter_client.session:extract_dates", "autograder/runtime/kernel_client.py",
     "rebound to a fromisoformat parser for headers: dateutil was a fifth of the grader's CPU"),
    ("jupyter_client.client:KernelClient._handle_kernel_info_reply", "autograder/runtime/kernel_client.py",
     "ReadyClient.wait_for_ready records the kernel_info reply as jupyter_client's does"),
    ("nbclient:NotebookClient._cleanup_kernel", "autograder/runtime/execute.py",
     "nbclient leaves this atexit hook registered when a kernel fails to start"),
    ("ipykernel.ipkernel:IPythonKernel._execute_sleep", "pdl/kernel/grading_kernel.py",
     "no 0.5 ms nap before each execute_reply"),
    ("ipykernel.kernelbase:Kernel._supports_kernel_subshells", "pdl/kernel/grading_kernel.py",
     "kernel_info says no subshells: there is no shell channel thread"),
    ("ipykernel.kernelbase:Kernel._publish_execute_input", "pdl/kernel/grading_kernel.py",
     "no execute_input message: nbclient does not read it (~0.7 ms of CPU a cell)"),
    ("ipykernel.kernelbase:Kernel._publish_status", "pdl/kernel/grading_kernel.py",
     "no busy status: nbclient does not read it (~0.7 ms of CPU a cell)"),
    ("ipykernel.shellchannel:ShellChannelThread.__init__", "pdl/kernel/grading_kernel.py",
     "NoShellChannelThread stands in for it (its parent_thread)"),
    ("nbconvert.exporters.exporter:Exporter._preprocess", "autograder/feedback.py",
     "FeedbackExporter runs the preprocessors on nbconvert's one copy of the notebook"),
    ("nbconvert.exporters.exporter:Exporter()._preprocessors", "autograder/feedback.py",
     "FeedbackExporter._preprocess runs them"),
    ("nbconvert.exporters.exporter:Exporter._init_resources", "autograder/feedback.py",
     "FeedbackExporter.from_notebook_node prepares resources as HTMLExporter's does"),
    ("nbconvert.exporters.html:HTMLExporter()._nb_metadata", "autograder/feedback.py",
     "FeedbackExporter.from_notebook_node registers the widgets filter as HTMLExporter's does"),
    ("nbgrader.preprocessors.saveautogrades:SaveAutoGrades._add_score", "autograder/shared_gradebook.py",
     "SubmissionRows answers the gradebook queries it makes"),
    ("nbgrader.preprocessors.saveautogrades:SaveAutoGrades._add_comment", "autograder/shared_gradebook.py",
     "SubmissionRows answers the gradebook queries it makes"),
    ("nbgrader.preprocessors.getgrades:GetGrades._get_score", "autograder/shared_gradebook.py",
     "SubmissionRows answers the gradebook queries it makes"),
    ("nbgrader.preprocessors.getgrades:GetGrades._get_comment", "autograder/shared_gradebook.py",
     "SubmissionRows answers the gradebook queries it makes"),
]

# upstream callable -> (sha256 of inspect.getsource, first 16 hex digits; our file that copies or replaces it)
SOURCES = {
    # jupyter_client
    "jupyter_client.session:Session.deserialize": ("d497eee289aaca1c", "autograder/runtime/kernel_client.py"),
    "jupyter_client.channels:AsyncZMQSocketChannel.get_msg": ("0ff12e085ef43731", "autograder/runtime/kernel_client.py"),
    "jupyter_client.client:KernelClient._async_wait_for_ready": ("0d732ad86fea3115", "autograder/runtime/kernel_client.py"),
    "jupyter_client.provisioning.local_provisioner:LocalProvisioner.wait": ("4f17103ed4cb9bd3", "autograder/runtime/forkserver_client.py"),
    # nbclient: the stand-in reply of a timed-out cell, which execute.py tells from a kernel's by its missing header
    "nbclient:NotebookClient._async_handle_timeout": ("27d6db41082b053f", "autograder/runtime/execute.py"),
    # ipykernel
    "ipykernel.kernelbase:Kernel._publish_execute_input": ("b4eb9d13c33c056a", "pdl/kernel/grading_kernel.py"),
    "ipykernel.kernelbase:Kernel._publish_status": ("415eebd1179c705c", "pdl/kernel/grading_kernel.py"),
    "ipykernel.kernelapp:IPKernelApp.init_sockets": ("2aa791c3f7a2e811", "pdl/kernel/grading_kernel.py"),
    "ipykernel.kernelapp:IPKernelApp.init_kernel": ("026435b9f0c49938", "pdl/kernel/grading_kernel.py"),
    "ipykernel.ipkernel:IPythonKernel.do_execute": ("78aa91d0af8b79f1", "pdl/kernel/grading_kernel.py"),
    # nbgrader
    "nbgrader.preprocessors:OverwriteCells.preprocess": ("3a94b453d8e53bee", "autograder/shared_gradebook.py"),
    "nbgrader.preprocessors:OverwriteCells.preprocess_cell": ("663c856017e542de", "autograder/shared_gradebook.py"),
    "nbgrader.preprocessors:OverwriteKernelspec.preprocess": ("28cc17a228e741a2", "autograder/shared_gradebook.py"),
    "nbgrader.preprocessors:SaveAutoGrades.preprocess": ("edef3c387d5c104a", "autograder/shared_gradebook.py"),
    "nbgrader.preprocessors:SaveAutoGrades._add_score": ("ee891a8fe3657ce7", "autograder/shared_gradebook.py"),
    "nbgrader.preprocessors:SaveAutoGrades._add_comment": ("31f0186fac9c23ec", "autograder/shared_gradebook.py"),
    "nbgrader.preprocessors:GetGrades.preprocess": ("50efe7eaf5aaab62", "autograder/shared_gradebook.py"),
    "nbgrader.preprocessors:GetGrades._get_score": ("5c26775a7cad81d9", "autograder/shared_gradebook.py"),
    "nbgrader.preprocessors:GetGrades._get_comment": ("75997d19637933f0", "autograder/shared_gradebook.py"),
    "nbgrader.preprocessors:CheckCellMetadata.preprocess": ("f8dfe8c496d03e52", "autograder/restore.py"),
    # nbconvert
    "nbconvert.exporters.exporter:Exporter._preprocess": ("5aea00c54a8a1a00", "autograder/feedback.py"),
    "nbconvert.exporters.html:HTMLExporter.from_notebook_node": ("3dccafff45cc4e74", "autograder/feedback.py"),
}


def resolve(spec: str) -> Any:
    """``module:Name.attr`` (``Name()`` for an attribute that only instances have)."""
    module, _, path = spec.partition(":")
    obj: Any = importlib.import_module(module)
    for part in path.split("."):
        if part.endswith("()"):
            obj = getattr(obj, part[:-2])()
        else:
            obj = getattr(obj, part)
    return obj


def source_hash(spec: str) -> str:
    return hashlib.sha256(inspect.getsource(resolve(spec)).encode()).hexdigest()[:16]


@pytest.mark.parametrize("spec, ours, why", PRIVATE_NAMES, ids=[p[0] for p in PRIVATE_NAMES])
def test_private_name_still_exists(spec: str, ours: str, why: str) -> None:
    try:
        resolve(spec)
    except (AttributeError, ImportError) as exc:
        pytest.fail(f"{spec} is gone ({exc}): recheck {ours} ({why})")


@pytest.mark.parametrize("spec", sorted(SOURCES))
def test_copied_or_replaced_source_is_unchanged(spec: str) -> None:
    expected, ours = SOURCES[spec]
    assert source_hash(spec) == expected, (
        f"upstream {spec} changed: recheck {ours}, which copies or replaces it, then update its hash here")


def test_ray_token_setup_still_exists() -> None:
    """backends/ray.py turns token authentication on as ``ray start`` does, through a private Ray module
    (it returns silently when the import fails: this is where such a change shows)."""
    pytest.importorskip("ray")
    module = importlib.import_module("ray._private.authentication.authentication_token_setup")
    assert callable(module.maybe_enable_token_auth_if_token_available), "recheck autograder/backends/ray.py"


def test_our_provisioners_are_registered() -> None:
    """sandbox.py and forkserver_client.py start kernels through jupyter_client's provisioner entry point."""
    from importlib.metadata import entry_points

    names = {ep.name for ep in entry_points(group="jupyter_client.kernel_provisioners")}
    assert {"pdl-sandboxed", "pdl-forked"} <= names, "reinstall the package (pip install -e .): pyproject.toml " \
                                                     "registers them under jupyter_client.kernel_provisioners"


if __name__ == "__main__":  # print the current hashes, to paste above after rechecking our files
    for key in sorted(SOURCES):
        print(f'    "{key}": ("{source_hash(key)}", "{SOURCES[key][1]}"),')
    sys.exit(0)
