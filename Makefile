# Two entry points for a fresh machine: `make demo` and `make test`.
# Everything else is set up on demand in .venv (uv is installed into it).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: demo test lint format bench docs clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv
	@UV_PYTHON_DOWNLOADS=never $(BIN)/uv pip install -q --python $(BIN)/python -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

demo: $(STAMP)
	$(BIN)/jobs-lint --exit-zero tests/fixtures
	$(BIN)/python scripts/demo_service.py

test: $(STAMP)
	$(BIN)/pytest

docs: $(STAMP)
	$(BIN)/python -m jobs_lint.rules.docs docs/rules.md

format: $(STAMP)
	$(BIN)/ruff check --fix -q jobs_lint tests bench
	$(BIN)/ruff format -q jobs_lint tests bench

lint: $(STAMP)
	$(BIN)/ruff check jobs_lint tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build .jobs_lint_cache .pytest_cache
