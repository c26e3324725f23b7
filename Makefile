# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test
REDIS_TEST_URL ?= redis://127.0.0.1:6379/0

.PHONY: install run test test-default test-external lint format typecheck bench clean

$(VENV)/.installed: pyproject.toml setup.py engine/audit/_speedups.c
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	$(VENV)/bin/sanctions run

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# Apply the formatter and ruff's safe fixes (make lint only checks).
format: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

# mypy settings: [tool.mypy] in pyproject.toml.
typecheck: install
	$(PY) -m mypy

test: install lint typecheck test-default test-external

test-default: install
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest

# Second pass on PostgreSQL and an external Redis. Under CI a missing service is a failure.
test-external: install
	@if $(PY) tests/external_services.py "$(PG_TEST_URL)" "$(REDIS_TEST_URL)"; then \
		DATABASE_URL="$(PG_TEST_URL)" REDIS_URL="$(REDIS_TEST_URL)" $(PY) -m pytest -m "not browser"; \
	elif [ "$$CI" = "true" ]; then \
		echo "CI: PostgreSQL/Redis must answer for the second pass" >&2; exit 1; \
	else \
		echo "second pass (PostgreSQL + external Redis) SKIPPED: services not reachable"; \
	fi

bench: install
	$(PY) bench/throughput.py

clean:
	rm -rf $(VENV) var .pytest_cache
