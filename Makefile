# Baton: `make run` serves the app, `make test` runs the whole suite.
# Both work from a fresh clone with Python 3.11+ and Node 20.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
INSTALLED := $(VENV)/.installed
CANVAS := static/canvas/canvas.js
FRONTEND_DEPS := frontend/node_modules/.package-lock.json
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/baton

.PHONY: run test install frontend migrate lint format check-deploy bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock ".[dev]"
	touch $@

install: $(INSTALLED)

$(FRONTEND_DEPS): frontend/package.json frontend/package-lock.json
	npm ci --prefix frontend --no-audit --no-fund --loglevel=error

$(CANVAS): $(FRONTEND_DEPS) $(shell find frontend/src -type f 2>/dev/null) frontend/vite.config.ts
	npm run build --prefix frontend --silent

frontend: $(CANVAS)

migrate: install
	$(BIN)/python manage.py migrate --no-input

run: install frontend migrate
	$(BIN)/python manage.py seed_demo
	BATON_DEBUG=1 $(BIN)/python manage.py serve --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The whole suite on SQLite; then, in CI (or with BATON_TEST_POSTGRES=1), on Postgres too.
test: install frontend lint
	npm test --prefix frontend --silent
	$(BIN)/python -m pytest -q
	@if [ "$$CI" = "true" ] || [ "$$BATON_TEST_POSTGRES" = "1" ]; then \
		echo "== the suite again, on Postgres ($(PG_TEST_URL))"; \
		BATON_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -q -m "not browser and not distributed"; \
	else \
		echo "Postgres pass skipped: set BATON_TEST_POSTGRES=1 (CI does) to run the suite on $(PG_TEST_URL)."; \
	fi

check-deploy: install
	BATON_REDIS_URL=redis://127.0.0.1:6379/0 BATON_SECRET_KEY=$$(head -c 48 /dev/urandom | base64) \
	BATON_ENCRYPTION_KEYS=$$($(BIN)/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())') \
	BATON_ALLOWED_HOSTS=baton.example.com $(BIN)/python manage.py check --deploy --fail-level WARNING

bench: install frontend
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) frontend/node_modules static/canvas var/staticfiles
