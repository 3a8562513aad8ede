# Two commands on a fresh machine with Python 3.11:  make book  and  make test.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# The banknote data: ../shared/data when it is there (CI), otherwise the loader's cache/download.
PDL_DATA_DIR ?= $(wildcard $(abspath ../shared/data))
export PDL_DATA_DIR
export KERAS_BACKEND := torch
# nbgrader shells out to alembic: the venv's bin must be on PATH.
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: venv exercises book test bench bench-full clean

# Everything: the student install plus the exact pins of the grader, the book, the tests and Ray
# (pyproject.toml's extras; `pip install .` alone is the students' install).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[book,test,cluster]'
	touch $@

venv: $(VENV)/.installed

# Student versions in exercises/ from the instructor notebooks in solutions/.
exercises: venv
	$(VENV)/bin/pdl-grade release

# The executed book in _build/html (jupyter-cache: unchanged chapters are not re-run).
book: exercises
	$(PY) book/build.py

# Everything: exercises and book first, then the whole suite. pytest's exit code 5 (no tests
# collected) is reported and tolerated, so that an empty selection (-k, markers) is not a crash.
test: book
	$(PY) -m pytest tests $(PYTEST_ARGS) || { rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc; }

bench: venv
	$(PY) -m bench --size ci

bench-full: venv
	$(PY) -m bench --size full

clean:
	rm -rf _build .pytest_cache tests/artifacts
