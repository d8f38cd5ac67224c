# Two commands on a fresh clone: `make run` (the default pipeline) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
# DVC stages call `python`: make it the project's.
export PATH := $(BIN):$(PATH)

.PHONY: setup run params test test-fast lint bench compare profile gpu-check ui ui-check server server-stop serve docs docs-serve docs-check clean

setup: $(STAMP)

# Reinstall when the dependencies or their pinned versions change.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

params: setup  ## regenerate params.yaml from conf/
	$(BIN)/python -m seqlab.params

run: params  ## the default pipeline: fetch, preprocess, train, evaluate every entry
	$(BIN)/python -m seqlab.tracking.init
	$(BIN)/dvc repro

test: setup  ## the whole test suite (what CI runs), within 15 minutes on 2 cores
	$(BIN)/python -m pytest

test-fast: setup  ## the edit-test loop, within 3 minutes: no servers, DVC pipelines, kills or load tests
	$(BIN)/python -m pytest -m "not slow"

lint: setup
	$(BIN)/ruff check src tests

bench: setup  ## seqlab vs a plain PyTorch loop on course_ex1 and course_ex2; result kept in docs/bench.txt
	$(BIN)/python -m seqlab.bench --repeat 5 --save docs/bench.txt

compare: setup .venv-compare/.installed  ## seqlab beside statsforecast (airline backtest) and aeon (six UEA/UCR problems); tables kept in compare/results.md
	$(BIN)/python -m seqlab.compare --peers-python .venv-compare/bin/python

# The peers' own environment: their dependencies never meet seqlab's.
.venv-compare/.installed: compare/requirements.txt
	@test -x .venv-compare/bin/python || $(PYTHON) -m venv .venv-compare
	.venv-compare/bin/python -m pip install --quiet -r compare/requirements.txt
	@touch $@

profile: setup  ## where the seconds go: each stage (imports, data, training, evaluation, tracking), each optimiser step
	$(BIN)/python -m seqlab.profile stages
	$(BIN)/python -m seqlab.profile steps

gpu-check: setup  ## the default entries on the GPU and on the CPU; fails without a GPU
	$(BIN)/python -m seqlab.gpu_check

ui: setup  ## the MLflow UI on http://127.0.0.1:$(PORT): make ui [PORT=5000] (click "Model training" in the sidebar once)
	$(BIN)/mlflow ui --host 127.0.0.1 --port $(or $(PORT),5000) \
		--backend-store-uri sqlite:///$(CURDIR)/mlflow.db

ui-check: setup  ## open the MLflow UI of a short training in headless chromium; pictures in docs/
	$(BIN)/python scripts/ui_check.py --out-dir docs

server: setup  ## a shared MLflow server on http://127.0.0.1:5001 (runs in PostgreSQL, artifacts proxied; files in .server/): train with tracking=server
	$(BIN)/python -m seqlab.tracking.server start

serve: setup  ## serve a logged model on http://127.0.0.1:$(PORT): make serve MODEL=<run id or models:/...> [PORT=5002]
	@test -n "$(MODEL)" || { echo "seqlab: error: MODEL: give a run id or model URI, e.g. make serve MODEL=models:/seqlab-many_to_one@best-digits_pixels"; exit 2; }
	$(BIN)/python -m seqlab.predict.serve '$(MODEL)' --port $(or $(PORT),5002)

server-stop:  ## stop `make server` (MLflow and PostgreSQL); the runs stay in .server/
	$(BIN)/python -m seqlab.tracking.server stop

# MkDocs' plugins print a notice about MkDocs 2 on every build; it says nothing about the site.
DOCS_ENV := NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true

docs: setup  ## the documentation site, built strict into site/ (a broken link or a missing page fails)
	$(DOCS_ENV) $(BIN)/mkdocs build --strict --site-dir site

docs-serve: setup  ## the documentation site on http://127.0.0.1:8000, rebuilt on every edit
	$(DOCS_ENV) $(BIN)/mkdocs serve --strict --dev-addr 127.0.0.1:8000

docs-check: docs  ## open the built site's home page and a guide in headless chromium; pictures in docs/
	$(BIN)/python scripts/docs_check.py --site site --out-dir docs

clean:  ## remove pipeline outputs and checkpoints; DVC restores outputs from .dvc/cache, MLflow runs stay
	rm -rf data/raw data/processed data/cache models plots outputs multirun checkpoints
