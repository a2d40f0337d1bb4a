# Set-up and the project's main commands; each creates .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-test

.PHONY: test test-quick demo bench lint format clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,demo,bench]'
	touch $(STAMP)

# Runs the whole suite; pytest's exit code 5 (no tests collected) fails too.
test: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadgroup tests

# The quick subset: everything not marked slow.
test-quick: $(STAMP)
	$(PY) -m pytest -q -n 2 -m "not slow" tests

demo: $(STAMP)
	$(PY) examples/digits_cnn.py

bench: $(STAMP)
	$(PY) -m bench

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
