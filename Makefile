# Two commands: `make demo` and `make test`. Each sets up .venv first (tools/setup_env.sh is
# idempotent: a second run only checks the stack).
PY := .venv/bin/python

.PHONY: setup demo demo-seg test
setup:
	bash tools/setup_env.sh

demo: setup
	$(PY) tools/demo.py

demo-seg: setup
	$(PY) tools/demo.py --task segmentation

test: setup
	$(PY) -m pytest tests -q -p no:cacheprovider
