# Two commands for a newcomer: `make demo` and `make test`. Both build .venv/ from the lock file.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= var/demo-data
HOST ?= 127.0.0.1:8000
MOTO_PORT ?= 5055

.PHONY: install chromium demo test fuzz lint format lock migrate clean focus-validator focus-validator-lock

$(STAMP): requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

demo: export DEBUG = true
# A sample backend account for the demo's generated templates; set your own in production.
demo: export FINOPS_BACKEND_ACCOUNT_ID ?= 123456789012
# The demo's connection syncs from a local AWS emulator (a moto server on loopback), never from AWS.
demo: export AWS_ENDPOINT_URL = http://127.0.0.1:$(MOTO_PORT)
demo: export AWS_ACCESS_KEY_ID ?= demo
demo: export AWS_SECRET_ACCESS_KEY ?= demo
demo: migrate
	$(PY) manage.py demo_setup --data-dir $(DEMO_DIR)
	$(PY) manage.py recover_import_runs
	$(PY) manage.py schedule_syncs
	@mkdir -p var; $(PY) -m moto.server -H 127.0.0.1 -p $(MOTO_PORT) >var/moto.log 2>&1 & MPID=$$!; \
	  trap 'kill $$MPID $$QPID 2>/dev/null' EXIT INT TERM; \
	  for i in $$(seq 1 50); do $(PY) -c "import socket; socket.create_connection(('127.0.0.1', $(MOTO_PORT)), 1)" \
	    2>/dev/null && break; sleep 0.2; done; \
	  $(PY) manage.py demo_sync --data-dir $(DEMO_DIR) && \
	  echo "Serving on http://$(HOST)/ (worker and AWS emulator in the background; Ctrl-C stops all three)" && \
	  { $(PY) manage.py qcluster & QPID=$$!; $(PY) manage.py runserver $(HOST); }

# The browser tests (marker `browser`) drive Debian's Chromium and are skipped without it. Best effort: install it
# only as root with apt-get, and never fail because of it.
chromium:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Chromium for the browser tests (apt-get install chromium)"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	    || echo "Could not install Chromium: the browser tests will be skipped"; \
	fi

# The official FOCUS validator (tests/exports/test_focus_validator.py) needs Python 3.12: its own venv,
# .venv-focus/, from its own lock with --require-hashes, like the main one. Python 3.12 is pyenv's newest
# 3.12.x, else python3.12 on PATH (or FOCUS_PYTHON=...).
FOCUS_VENV := .venv-focus
FOCUS_LOCK := tools/focus-validator/requirements.lock
FOCUS_STAMP := $(FOCUS_VENV)/.installed
FOCUS_PYTHON ?= $(shell ls -d "$$(pyenv root 2>/dev/null || echo $$HOME/.pyenv)"/versions/3.12.*/bin/python 2>/dev/null | sort -V | tail -n 1)

$(FOCUS_STAMP): $(FOCUS_LOCK)
	@py="$(FOCUS_PYTHON)"; [ -n "$$py" ] || py="$$(command -v python3.12 || true)"; \
	if [ -z "$$py" ] || ! "$$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then \
	  echo "focus-validator: no Python 3.12 found (pyenv install 3.12, python3.12 on PATH, or FOCUS_PYTHON=...)" >&2; \
	  exit 1; \
	fi; \
	echo "Building $(FOCUS_VENV) for the FOCUS validator with $$py"; \
	rm -rf $(FOCUS_VENV) && "$$py" -m venv $(FOCUS_VENV) && \
	$(FOCUS_VENV)/bin/python -m pip install --quiet --upgrade pip && \
	$(FOCUS_VENV)/bin/python -m pip install --quiet --require-hashes --no-deps -r $(FOCUS_LOCK) && \
	touch $(FOCUS_STAMP)

focus-validator: $(FOCUS_STAMP)

# Regenerate the validator's lock after editing tools/focus-validator/requirements.in (needs network access to PyPI).
focus-validator-lock:
	@py="$(FOCUS_PYTHON)"; [ -n "$$py" ] || py="$$(command -v python3.12)"; \
	"$$py" -m venv /tmp/finops-focus-lock-venv && /tmp/finops-focus-lock-venv/bin/pip install --quiet pip-tools && \
	cd tools/focus-validator && /tmp/finops-focus-lock-venv/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links --strip-extras --output-file requirements.lock requirements.in

# A validator venv that cannot be built does not stop the other tests: its tests then fail, saying why.
test: install chromium
	@$(MAKE) --no-print-directory focus-validator || echo "WARNING: the FOCUS validator venv could not be built; tests/exports/test_focus_validator.py will fail" >&2
	SECRET_KEY=$${SECRET_KEY:-test-only-secret-key} $(PY) -m pytest $(PYTEST_ARGS)

# Thousands of generated inputs for the importers: the property tests with the "fuzz" profile, then the
# harness over malformed variants of the fixture files (a throw-away SQLite file unless DATABASE_URL is set).
FUZZ_COUNT ?= 2000
FUZZ_SEED ?= $(shell date +%s)
fuzz: install
	HYPOTHESIS_PROFILE=fuzz SECRET_KEY=$${SECRET_KEY:-test-only-secret-key} $(PY) -m pytest -q \
	  tests/ingestion/test_parser_properties.py tests/ingestion/test_usage_types.py
	SECRET_KEY=$${SECRET_KEY:-test-only-secret-key} $(PY) -m tests.fuzz.runner --count $(FUZZ_COUNT) \
	  --seed $(FUZZ_SEED) --timeout 30 --strict

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Regenerate the lock after editing pyproject.toml (needs network access to PyPI).
lock:
	$(PYTHON) -m venv /tmp/finops-lock-venv
	/tmp/finops-lock-venv/bin/pip install --quiet pip-tools
	/tmp/finops-lock-venv/bin/pip-compile --quiet --generate-hashes --allow-unsafe --extra dev \
	  --output-file requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) $(FOCUS_VENV) var db.sqlite3
