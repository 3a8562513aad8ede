"""Code that runs inside the grading sandbox, in the student's kernel: the grading kernel app, the probe
emitter, the output cap and the input-transform memo. Students never import it; the course helpers they do
import (``pdl.checks``, ``pdl.data``, ``pdl.metrics``, ``pdl.simulate``) stay in ``pdl``.
"""
