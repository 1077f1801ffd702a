# Two commands do all the setup: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export BIOBANK_INSTANCE_PATH ?= $(CURDIR)/instance

.PHONY: run test bench smoke clean translations translations-extract translations-update

# Catalogues: biobank/translations/<lang>/LC_MESSAGES/messages.po are the sources;
# the install compiles them to .mo (not committed).
POT := biobank/translations/messages.pot
POS := $(wildcard biobank/translations/*/LC_MESSAGES/messages.po)
MOS := $(POS:.po=.mo)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

instance/.demo-loaded: $(STAMP)
	$(BIN)/biobank db upgrade
	$(BIN)/biobank demo
	touch instance/.demo-loaded

%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile -i $< -o $@

translations: $(MOS)

translations-extract: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ --sort-by-file -o $(POT) .

translations-update: translations-extract
	$(BIN)/pybabel update -i $(POT) -d biobank/translations --no-fuzzy-matching --ignore-obsolete

run: $(STAMP) translations instance/.demo-loaded
	$(BIN)/biobank db upgrade
	@$(BIN)/biobank demo | tail -n 10
	@echo "Open http://127.0.0.1:5000 (API docs: http://127.0.0.1:5000/api/v1/docs)"
	$(BIN)/biobank serve --host 127.0.0.1 --port 5000

test: $(STAMP) translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

smoke: $(STAMP)
	$(BIN)/python ../shared/contract/smoke.py

clean:
	rm -rf $(VENV) instance/biobank.sqlite3* instance/.demo-loaded
