"""The kernel runtime: where student code runs and how the grader talks to it.

``sandbox`` (bubblewrap, uid, rlimits), ``cgroups`` and ``gpu`` confine a kernel; ``forkserver`` runs inside a
slot's sandbox and forks kernels from a pre-imported parent, ``forkserver_client`` is the grader's side of it;
``kernel_manager`` and ``kernel_client`` are jupyter_client's with the grader's settings; ``execute`` runs one
notebook through nbclient. Nothing here judges: verdicts are made outside, in ``autograder.verdicts``.
"""
