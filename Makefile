# Two commands do all the setup: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export BIOBANK_INSTANCE_PATH ?= $(CURDIR)/instance

.PHONY: run test bench smoke clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

instance/.demo-loaded: $(STAMP)
	$(BIN)/biobank db upgrade
	$(BIN)/biobank demo
	touch instance/.demo-loaded

run: $(STAMP) instance/.demo-loaded
	$(BIN)/biobank db upgrade
	@$(BIN)/biobank demo | tail -n 10
	@echo "Open http://127.0.0.1:5000 (API docs: http://127.0.0.1:5000/api/v1/docs)"
	$(BIN)/biobank serve --host 127.0.0.1 --port 5000

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

smoke: $(STAMP)
	$(BIN)/python ../shared/contract/smoke.py

clean:
	rm -rf $(VENV) instance/biobank.sqlite3* instance/.demo-loaded
