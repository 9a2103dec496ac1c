# gridledger — every target a newcomer needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BIN ?= python3
VENV := .venv
PY := $(VENV)/bin/python
COMETBFT_VERSION := v0.38.25
COMETBFT := bin/cometbft
STAMPS := .stamps
LOCALNET_HOME ?= .localnet

export PATH := $(CURDIR)/bin:$(PATH)

.PHONY: help setup localnet localnet-stop localnet-reset localnet-status test test-fast bench bench-quick chaos chaos-quick demo lint format clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

setup: $(STAMPS)/venv $(COMETBFT) $(STAMPS)/gen ## virtualenv, packages, CometBFT $(COMETBFT_VERSION), generated code (idempotent)

$(STAMPS)/venv: pyproject.toml
	@mkdir -p $(STAMPS)
	test -x $(PY) || $(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

$(COMETBFT):
	@command -v go >/dev/null || { echo "Go is needed to install CometBFT (go install)"; exit 1; }
	GOBIN=$(CURDIR)/bin go install github.com/cometbft/cometbft/cmd/cometbft@$(COMETBFT_VERSION)
	$(COMETBFT) version

$(STAMPS)/gen: $(STAMPS)/venv proto/generate.py $(shell find proto -name '*.proto')
	$(PY) proto/generate.py
	$(PY) -c 'import site,sys; open(site.getsitepackages()[0]+"/gridledger_gen.pth","w").write(sys.argv[1]+"\n")' $(CURDIR)/.gen/python
	@touch $@

localnet: setup ## start (or resume) the 4-validator localnet on 127.0.0.1
	$(PY) -m clients.localnet start --home $(LOCALNET_HOME)

localnet-stop: ## stop the localnet's processes
	@if [ -x $(PY) ]; then $(PY) -m clients.localnet stop --home $(LOCALNET_HOME); fi

localnet-reset: localnet-stop ## stop the localnet and delete its data
	rm -rf $(LOCALNET_HOME)

localnet-status: setup ## heights and app hashes of the localnet's nodes
	$(PY) -m clients.localnet status --home $(LOCALNET_HOME)

test: setup ## lint, type-check and the whole test suite (what CI runs)
	$(MAKE) --no-print-directory lint
	$(PY) -m pytest -q

test-fast: setup ## unit tests only (no CometBFT processes)
	$(PY) -m pytest -q -m "not integration"

bench: setup ## full benchmark: localnet throughput/latency vs kvstore, in-process app costs
	$(PY) -m tests.bench.run --mode full

bench-quick: setup ## short benchmark run (< 3 min) to keep the harness working
	$(PY) -m tests.bench.run --mode quick

chaos: setup ## long fault-injection run (kill, pause, partition, wipe) under load
	$(PY) -m tests.chaos.run --minutes 15

chaos-quick: setup ## short fault-injection run
	$(PY) -m tests.chaos.run --minutes 2

lint: setup ## ruff lint + format check, mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: setup ## apply ruff's formatter and autofixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean: localnet-stop ## remove generated code, binaries, virtualenv and localnet data
	rm -rf $(VENV) .gen bin $(STAMPS) $(LOCALNET_HOME)
