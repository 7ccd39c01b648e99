# Two commands: `make demo` and `make test`. Each sets up .venv first (tools/setup_env.sh is
# idempotent: a second run only checks the stack).
PY := .venv/bin/python

.PHONY: setup demo test
setup:
	bash tools/setup_env.sh

demo: setup
	$(PY) tools/demo.py

test: setup
	$(PY) -m pytest tests -q -p no:cacheprovider
