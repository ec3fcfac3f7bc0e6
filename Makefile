# Offline by default: TARGET=local runs everything against localcloud (started on demand).
# TARGET=aws runs the same commands against real AWS with your credentials.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SCAN_VENV := .venv-scan
TARGET ?= local
# USERNAME only counts when given on the command line: many systems set USERNAME to the login name.
ifeq ($(origin USERNAME),command line)
USERNAME_PREFIX := $(USERNAME)
else
USERNAME_PREFIX := $(IAM_USERNAME)
endif
PYTEST_ARGS ?=
export TARGET USERNAME_PREFIX
export TF_CLI_CONFIG_FILE := $(CURDIR)/.tf/terraformrc
export TF_PLUGIN_CACHE_DIR := $(CURDIR)/.tf/plugin-cache
TF_DIRS := . modules/sns_pipe modules/event_rule_queue fixtures/provided

.PHONY: help setup tfrc fmt validate scan backend plan apply destroy up down e2e doctor test bench clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  Variables: TARGET=local|aws (default local), USERNAME=<prefix> or IAM_USERNAME (required for aws),"
	@echo "             TF_STATE_BUCKET=<bucket> (aws), TF_PROVIDER_MIRROR=<dir> (offline provider mirror)"

setup: $(VENV)/.installed tfrc ## Create .venv with the pinned Python dependencies

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(SCAN_VENV)/.installed: requirements-scan.txt
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-scan.txt
	touch $@

tfrc: ## Write the project-local Terraform CLI config (provider mirror when offline)
	@mkdir -p .tf/plugin-cache
	@$(PYTHON) -m pipecheck.tfcli >/dev/null

fmt: ## Format all Terraform files
	terraform fmt -recursive

validate: tfrc ## terraform validate the root, modules and fixtures
	@for d in $(TF_DIRS); do \
	  terraform -chdir=$$d init -backend=false -input=false >/dev/null && \
	  terraform -chdir=$$d validate -no-color | sed "s|^|$$d: |"; \
	done

scan: $(SCAN_VENV)/.installed ## Security scan (checkov), offline
	$(SCAN_VENV)/bin/checkov -d . --framework terraform --skip-download --compact \
	  --skip-path '\.venv' --skip-path '\.terraform' --skip-path '(^|/)\.tf/'

backend: setup ## Render backend.tf from backend.tf.dist for TARGET and init
	$(PY) -m pipecheck backend

plan: setup ## terraform plan the stack (TARGET=local starts localcloud and creates the provided resources)
	$(PY) -m pipecheck plan

apply: setup ## terraform apply the stack
	$(PY) -m pipecheck apply

destroy: setup ## terraform destroy the stack
	$(PY) -m pipecheck destroy

up: setup ## Start localcloud in the background (http://127.0.0.1:4566)
	$(PY) -m pipecheck up

down: setup ## Stop localcloud
	$(PY) -m pipecheck down

e2e: setup ## The whole thing, locally, from nothing: deploy, publish the examples, check every hop, tear down
	$(PY) -m pipecheck e2e

doctor: setup ## Walk the hops of the deployed stack and name what is broken
	$(PY) -m pipecheck doctor

test: setup $(SCAN_VENV)/.installed ## Every test: Terraform static checks, localcloud, scripts, harness, e2e, pitfalls
	$(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

bench: setup ## Benchmarks (QUICK=1 for a reduced run); results in bench/results.json
	$(PY) -m bench $(if $(QUICK),--quick,)

clean: ## Remove venvs, caches and Terraform working dirs
	rm -rf $(VENV) $(SCAN_VENV) .tf .localcloud .pytest_cache
	find . -name .terraform -type d -prune -exec rm -rf {} +
