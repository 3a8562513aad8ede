"""pdl-grade: secure, parallel, resumable batch grading on top of nbgrader.

Data flows one way through the modules of this package:
solutions/ --release--> exercises/;  submissions --intake--> repairs, restore --plans-->
backends -> runtime/ (sandboxed kernels) --verdicts--> results --> gradebook, export (CSV, LMS files), feedback.
"""
__version__ = "0.1.0"

import sys as _sys

# jsonschema (under nbformat) compiles a Lark grammar for the "iri" format at import when
# rfc3987_syntax is installed: 1.8 s at every start of the grader. No schema it checks uses it.
_sys.modules.setdefault("rfc3987_syntax", None)
