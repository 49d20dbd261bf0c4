# Personalized Fitness Tracker: `make demo` runs the platform, `make test` checks it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install system-deps demo test lint bench clean services-down

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@$(BIN)/python -c "from fitness_assets.dagster_home import write_dotenv; write_dotenv()"
	@touch $(STAMP)

demo: install
	$(BIN)/fitness demo $(ARGS)

# ruff for style and formatting; lint-imports for the import rules between the packages ([tool.importlinter] in pyproject.toml).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# Debian tools the tests drive: the docker-compose client (compose validation) and headless
# Chromium (report screenshots). Installed when missing and when we may (root, apt-get present).
system-deps:
	@missing=""; \
	command -v docker-compose >/dev/null || missing="$$missing docker-compose"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing$$missing"; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "note: missing$$missing (tests that need them are skipped)"; fi; \
	fi

test: lint system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# wrk is the API benchmark's load generator (a Python client is the fallback).
bench: install system-deps
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } || true
	$(BIN)/python -m benchmarks $(ARGS)

services-down: install
	$(BIN)/fitness services down

clean:
	-$(BIN)/fitness services down
	rm -rf var .pytest_cache .ruff_cache
