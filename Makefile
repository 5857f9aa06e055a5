# Each target creates or refreshes .venv from a Python >= 3.12 found on this machine.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint bench venv lock clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@bash tools/make-venv.sh $(VENV)
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/escalation-sim run scenarios/may30_kharkiv_counterfire.yaml --seed 1 --out results/demo --force

test: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks tools
	$(VENV)/bin/ruff format --check src tests benchmarks tools
	$(PY) -m pytest -q -n 2 --dist loadfile

# The edit loop: lint and every test not marked slow, on two worker processes.
# Each test file stays on one worker (--dist loadfile): the browser tests share one live
# server per file and follow each other in order.
test-fast: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks tools
	$(VENV)/bin/ruff format --check src tests benchmarks tools
	$(PY) -m pytest -q -n 2 --dist loadfile -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks tools
	$(VENV)/bin/ruff format --check src tests benchmarks tools

bench: $(STAMP)
	$(PY) benchmarks/bench_rules.py
	$(PY) benchmarks/bench_model.py

# Record the versions installed now as constraints.txt (after a dependency change, once
# the tests pass with the new versions).
lock: $(STAMP)
	@bash tools/lock.sh $(VENV)

clean:
	rm -rf $(VENV) results .pytest_cache
