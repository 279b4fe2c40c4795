# Qualitas — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[all]"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed-run

## run: install, load the demo data once (the installation's random secret is made then, in
## .qualitas/secret.key, mode 0600), print a demo API key, serve the trace explorer at
## http://$(HOST):$(PORT)/ and GraphQL + GraphiQL at http://$(HOST):$(PORT)/graphql
run: $(VENV)/.installed-run
	$(BIN)/qualitas demo load
	QUALITAS_HOST=$(HOST) QUALITAS_PORT=$(PORT) $(BIN)/qualitas demo key
	mkdir -p .qualitas/ingest
	QUALITAS_INGEST_DIR=$${QUALITAS_INGEST_DIR:-$(CURDIR)/.qualitas/ingest} $(BIN)/qualitas serve --host $(HOST) --port $(PORT)

## test: install with the test extras and run the whole suite
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest --durations=20

lint: $(VENV)/.installed-test
	$(BIN)/ruff check qualitas tests bench
	$(BIN)/mypy qualitas/ontology qualitas/reasoning

## bench: every bench in quick mode (1M triples; BENCH_FULL=1 adds the 10M-triple trace run), each in its
## own process, merged into bench/out/summary.json (figures, goals, met, machine, date);
## `$(BIN)/python bench/run_all.py --table` prints it as the README's Markdown table
bench: $(VENV)/.installed-test
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .qualitas .pytest_cache
