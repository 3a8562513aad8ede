"""``pdl-grade`` as installed: the instructor's grader, or one line saying how to install it.

The student install (``pip install pdl-course``) ships the autograder's code but not what it runs on (nbgrader, ...):
those come with the ``grader`` extra. Without them ``pdl-grade`` says so instead of an ImportError's traceback.
What the extra holds is read from the installed metadata, so pyproject.toml stays its one source.
"""
from __future__ import annotations

import re
import sys
from importlib import metadata

DISTRIBUTION = "pdl-course"
EXTRA = "grader"


def missing_requirements(extra: str = EXTRA) -> list[str]:
    """The distributions that ``extra`` requires and that are not installed."""
    try:
        requires = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        return []  # run from a source tree without an install: nothing to compare with
    marker = re.compile(rf"""extra\s*==\s*['"]{re.escape(extra)}['"]""")
    missing = []
    for requirement in requires:
        if ";" not in requirement or not marker.search(requirement.split(";", 1)[1]):
            continue
        name = re.match(r"[A-Za-z0-9._-]+", requirement).group(0)
        if name.lower().replace("_", "-") == DISTRIBUTION:
            continue  # the extra names other extras of this project
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    return missing


def main() -> int:
    try:
        from autograder.cli import main as grade_main
    except ModuleNotFoundError:  # the metadata is read only then: every grader start would pay for it
        missing = missing_requirements()
        if not missing:
            raise
        print(f"pdl-grade is the instructor's grader and needs the '{EXTRA}' extra, which is not installed "
              f"(missing: {', '.join(missing)}); in the course's repository: pip install '.[{EXTRA}]'", file=sys.stderr)
        return 2
    return grade_main()


if __name__ == "__main__":
    sys.exit(main())
