# Two entry points on a fresh machine with Python 3.11 and make:
#   make preview   set up .venv and preview the dev stack offline (no AWS account, no Pulumi CLI)
#   make test      set up .venv with the [dev], [pipelines] and [check] extras and run the test suite
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STACK ?= dev
PLAN_DIR := build

.PHONY: preview preview-all check check-tools graph snapshots docs sandbox test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install when the package metadata changes; the stamp files remember what is installed.
$(VENV)/.core-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The test suite runs MLflow and moto for real, so it needs the [pipelines] extra too, and the
# scanners of `check` ([check] and checkov) to prove that each of them can fail.
$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python $(VENV)/checkov/bin/checkov
	$(BIN)/python -m pip install --quiet -e '.[dev,pipelines,check]'
	touch $@ $(VENV)/.core-installed $(VENV)/.check-installed

# checkov pins old boto3/packaging: its own virtualenv, found by `check` at .venv/checkov.
$(VENV)/checkov/bin/checkov: | $(BIN)/python
	$(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install --quiet 'checkov>=3.2,<4'

$(VENV)/.check-installed: pyproject.toml | $(BIN)/python $(VENV)/checkov/bin/checkov
	$(BIN)/python -m pip install --quiet -e '.[check]'
	touch $@ $(VENV)/.core-installed

check-tools: $(VENV)/.check-installed

preview: $(VENV)/.core-installed
	$(BIN)/mlops-blueprint preview --stack $(STACK) --json $(PLAN_DIR)/plan-$(STACK).json

# Preflight, policy pack, checkov, cloudsplaining and the CI template scanners, offline (exit 1 on
# an unsuppressed finding; suppressions with their reasons: policies/suppressions.yaml).
check: $(VENV)/.check-installed
	$(BIN)/mlops-blueprint check --stack $(STACK) --json $(PLAN_DIR)/check-$(STACK).json

preview-all: $(VENV)/.core-installed
	for stack in dev staging prod; do \
	  $(BIN)/mlops-blueprint preview --stack $$stack --json $(PLAN_DIR)/plan-$$stack.json --format json > /dev/null || exit $$?; \
	done

# The component graph (mermaid) of a stack, as shown in the README.
graph: $(VENV)/.core-installed
	$(BIN)/mlops-blueprint preview --stack $(STACK) --format mermaid

# The README's generated sections (environment table, graph, PR comment, cost table).
docs: $(VENV)/.core-installed
	$(BIN)/python -m mlops_blueprint.docs

# The whole ML lifecycle on this machine: moto + a real MLflow server, train -> ... -> promote.
sandbox: $(VENV)/.dev-installed
	$(BIN)/mlops-blueprint sandbox $(SANDBOX_ARGS)

# Golden plans: review the diff in git before committing the new snapshots.
snapshots: $(VENV)/.core-installed
	for stack in dev staging prod; do \
	  $(BIN)/mlops-blueprint preview --stack $$stack --json tests/snapshots/$$stack.json --format json > /dev/null || exit $$?; \
	done

# pytest exits 5 when it collected no test: that is a failure here, not a pass. The suite runs on
# every core (pytest-xdist), a module per unit of work, longest first (tests/conftest.py); PYTEST_WORKERS=0: one process.
# Byte-code caches are written even where the environment turns them off (PYTHONDONTWRITEBYTECODE):
# every worker and every process a test starts would otherwise compile the package, and pytest
# rewrite every test module, again on each run.
PYTEST_WORKERS ?= auto
test: $(VENV)/.dev-installed
	@PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "error: no tests were collected" >&2; exit 1; fi; exit $$status

bench: $(VENV)/.dev-installed
	$(BIN)/python bench/preview_overhead.py

clean:
	rm -rf $(VENV) $(PLAN_DIR) .pytest_cache *.egg-info
