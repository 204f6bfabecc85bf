# The two commands of the README. Both set up .venv first (idempotent; seconds once done).
PY := .venv/bin/python

.PHONY: setup demo test clean-demo

setup:
	@bash tools/setup_env.sh

demo: setup
	$(PY) tools/demo.py

test: setup
	$(PY) -m ruff check colt_det benchmarks tools tests
	$(PY) -m pytest -q tests

clean-demo:
	rm -rf work_dirs/demo data/demo
