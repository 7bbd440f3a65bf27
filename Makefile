# Everything installs itself: a Python virtualenv from uv.lock (with the machine's own Python), and the Go-built
# kube-apiserver, etcd and Alertmanager plus registry-packaged kubectl and helm, cached under ~/.cache/signalcraft/.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV_VERSION := 0.13.9
CACHE := $(HOME)/.cache/signalcraft
UV := $(CACHE)/uv-$(UV_VERSION)/bin/uv
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON_PREFERENCE := only-system
# kubectl and helm are fetched with pip; the bootstrap virtualenv always has one, a bare Debian python3 may not.
export SIGNALCRAFT_PIP := $(CACHE)/uv-$(UV_VERSION)/bin/pip
PYTEST_ARGS ?=

.PHONY: help setup system tools lint test test-unit test-contract test-e2e demo crds openapi bench clean-cluster

help:
	@echo "make demo   - set everything up and run the demo"
	@echo "make test   - set everything up and run the whole test suite (lint + unit + contract + e2e)"
	@echo "make lint | test-unit | test-contract | test-e2e | crds | bench"

$(UV):
	$(PYTHON) -m venv $(CACHE)/uv-$(UV_VERSION)
	$(CACHE)/uv-$(UV_VERSION)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

setup: $(VENV)/.synced

system:
	bash tools/system-packages.sh

tools: setup system
	$(BIN)/signalcraft dev-cluster build

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	PYTHONPATH=operator $(BIN)/lint-imports

test: lint tools
	$(BIN)/pytest $(PYTEST_ARGS)

test-unit: setup
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

test-contract: setup
	$(BIN)/pytest tests/contract $(PYTEST_ARGS)

test-e2e: tools
	$(BIN)/pytest tests/e2e $(PYTEST_ARGS)

demo: tools
	$(BIN)/signalcraft demo

crds: setup
	$(BIN)/signalcraft crds --write crds/
	$(BIN)/signalcraft crds --write helm/signalcraft-operator/files/crds/

bench: tools
	$(BIN)/python -m bench.api
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.operator

clean-cluster: setup
	$(BIN)/signalcraft dev-cluster down
