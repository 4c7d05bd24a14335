# hitflow — `make demo` and `make test` do everything on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)
PG_URL = $$(scripts/ensure_postgres.sh)

.PHONY: help venv browser demo test e2e lint hit-service stop bench fuzz lock clean images compose-test fresh-machine-test

help:
	@echo "make demo         set up, publish the demo rows as HITs, print what happened"
	@echo "make test         the whole test suite (starts what it needs), end-to-end run included"
	@echo "make e2e          a real Airflow (Celery, Postgres, Redis) + HIT service: REST trigger, backfill, schedule, assets"
	@echo "make hit-service  run the MTurk-compatible HIT service in the foreground on 127.0.0.1:8100"
	@echo "make stop         stop what the demo started"
	@echo "make images       build every image docker-compose.yaml needs from Debian's packages and requirements.txt (no registry)"
	@echo "make compose-test docker-compose.yaml on a real Docker engine: up, publish, crowd, collect, 3 workers x 10k rows, five faults (~30-60 min)"
	@echo "make fresh-machine-test  make demo from a clean clone in a bare Debian container (python3, git, make only; ~3 min)"
	@echo "make fuzz         the API fuzzer, longer: FUZZ_EXAMPLES (default 400) per operation and mode; counts and failures"
	@echo "make bench        the HIT service (3 loads, vs a minimal endpoint); 2k/10k rows via dag.test and the real scheduler, under faults, vs a serial loop; a rate limit; collecting 30k answers; the 1k/10k/100k publish curve; a 1M-row interval; a soak (HITFLOW_SOAK_SECONDS, default 600); the console (10k-row CSV, 30k-row results); DAG parse time"

$(STAMP): requirements.txt
	@test -x $(BIN)/pip || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV) 2>/dev/null; } || { rm -rf $(VENV); \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Python's venv module (Debian's python3-venv)"; apt-get update -qq \
	    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null && $(PYTHON) -m venv $(VENV); \
	  else echo "$(PYTHON) -m venv failed: install Python's venv module (Debian: apt-get install python3-venv)"; exit 1; fi; }
	@$(BIN)/python -m pip install -q --disable-pip-version-check "uv==0.13.9" \
	  && $(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -r requirements.txt \
	  || $(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

# Debian's chromium for the browser tests (Playwright drives it; no browser download).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

demo: venv
	@url=$(PG_URL) && $(BIN)/python -m scripts.demo --admin-url "$$url"

test: venv browser e2e
	@url=$(PG_URL) && HITFLOW_TEST_PG_URL="$$url" $(BIN)/python -m pytest
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy

# End-to-end: scheduler, dag-processor, triggerer, api-server and a Celery worker on throwaway
# Postgres databases and the Redis on 127.0.0.1:6379 (started if nothing answers), ~5 min.
e2e: venv
	@url=$(PG_URL) && HITFLOW_TEST_PG_URL="$$url" HITFLOW_E2E=1 $(BIN)/python -m pytest tests/e2e -v

# Docker (README.md, "Deploy"): scripts/ensure_docker.sh installs Debian's docker.io/docker-compose
# and starts dockerd when nothing answers (as root), and says what to run otherwise; a dockerd it
# started is stopped again at the end. Not part of `make test`: it takes half an hour.
images: venv
	@scripts/ensure_docker.sh >/dev/null
	@PYTHON=$(BIN)/python scripts/images.sh

compose-test: venv
	@compose="$$(scripts/ensure_docker.sh)" || exit 1; status=0; \
	  { [ "$${HITFLOW_COMPOSE_IMAGES:-local}" = official ] || PYTHON=$(BIN)/python scripts/images.sh; } \
	  && HITFLOW_COMPOSE_TEST=1 HITFLOW_COMPOSE_CMD="$$compose" $(BIN)/python -m pytest tests/deploy -v \
	       -p no:randomly $${COMPOSE_TEST_ARGS:-} || status=$$?; \
	  scripts/ensure_docker.sh --stop; exit $$status

# README "Deploy": `make demo` from a clean clone of the checked-out branch on a bare Debian root
# filesystem with only python3, git and make (tests/deploy/fresh_machine.sh); the engine as above.
fresh-machine-test: venv
	@scripts/ensure_docker.sh >/dev/null || exit 1; status=0; \
	  PYTHON=$(BIN)/python tests/deploy/fresh_machine.sh || status=$$?; \
	  scripts/ensure_docker.sh --stop; exit $$status

# ruff, and mypy over hit_service/, plugins/hitflow/ and mturk_money/ ([tool.mypy] in pyproject.toml)
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

hit-service: venv
	@url=$(PG_URL) && $(BIN)/python -m scripts.demo --admin-url "$$url" --hit-service-foreground

stop: venv
	@$(BIN)/python -m scripts.demo --stop

bench: venv
	@url=$(PG_URL) && $(BIN)/python -m scripts.bench --admin-url "$$url"

# Hypothesis over botocore's mturk model, all 39 operations, random seed (make test runs a bounded,
# derandomized run of the same properties in tests/hit_service/test_fuzz.py).
fuzz: venv
	@url=$(PG_URL) && HITFLOW_TEST_PG_URL="$$url" HITFLOW_FUZZ_RANDOM=1 \
	  $(BIN)/python -m tests.hit_service.fuzz --examples $${FUZZ_EXAMPLES:-400}

# Re-resolve the pinned lock from requirements.in (needs the package registry).
lock: venv
	$(BIN)/uv pip compile requirements.in -o requirements.txt --python-version 3.11 --no-header

clean:
	rm -rf .airflow .run output
