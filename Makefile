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

# The lint table on the pinned corpus (BENCH_SOURCES: a directory of local clones, offline),
# then the worker table on the real brokers. BENCH_TREE may name any tree instead.
BENCH_TREE ?= bench/.corpus
bench: $(STAMP)
	@test "$(BENCH_TREE)" != bench/.corpus || $(BIN)/python bench/corpus.py $(BENCH_TREE) $(if $(BENCH_SOURCES),--source-root $(BENCH_SOURCES))
	$(BIN)/python bench/lint.py $(BENCH_TREE)
	$(BIN)/python bench/workers.py

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
