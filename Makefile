# The two commands of the README: `make run` and `make test`. Everything else is a helper they use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8501

.PHONY: run test install install-dev index browser-deps postgres-deps serve bench eval clean

## make run: create .venv, install gpskb, make sure the index is fresh, start the app on 127.0.0.1:8501
run: install
	$(BIN)/gpskb index build --if-stale
	$(BIN)/streamlit run app.py --server.address $(HOST) --server.port $(PORT) --server.headless true \
		--browser.gatherUsageStats false --server.fileWatcherType none

## make test: create/update .venv with the development dependencies, lint (ruff), type-check (mypy) and run the suite
test: install-dev browser-deps postgres-deps
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist worksteal

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install only when pyproject.toml changed (the stamp records what was installed).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,sentence-transformers]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# The real-browser test drives Debian's chromium (never `playwright install`: it downloads a browser).
browser-deps:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "noto.*cjk"; then \
		echo "installing chromium and fonts-noto-cjk for the browser test"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
		|| echo "warning: could not install chromium/fonts-noto-cjk (the browser test will fail)"; \
	fi

# The store tests run against a real PostgreSQL server that the tests start in a temporary folder and stop (Debian's
# postgresql; nothing is started as a service).
postgres-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "installing postgresql for the store tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
		|| echo "warning: could not install postgresql (the PostgreSQL store tests will fail)"; \
	fi

index: install
	$(BIN)/gpskb index build

serve: install
	$(BIN)/gpskb serve --host $(HOST) --port 8000

bench: install
	$(BIN)/gpskb bench

eval: install
	$(BIN)/gpskb eval eval/dev-questions.yaml

clean:
	rm -rf $(VENV) .pytest_cache artifacts
