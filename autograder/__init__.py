"""pdl-grade: secure, parallel, resumable batch grading on top of nbgrader.

Data flows one way through the modules of this package:
solutions/ --release--> exercises/;  submissions --intake--> restore --verdicts.plan-->
sandbox/execute --verdicts.judge--> results --> gradebook, export (CSV), feedback (HTML).
"""
__version__ = "0.1.0"
