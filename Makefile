# Virtual Manager — the two commands that matter: `make run` and `make test`. `make help`
# lists every target (the `## ` comment after a target is its line there).
SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && echo $$p && break; done)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
SYNCED := $(VENV)/.synced
# Every package, with its hashes (`make lock` writes it from pyproject.toml; deploy/lockfile.py).
LOCK := requirements.lock.txt
# deploy/k8s: the base and every overlay, validated against the oldest Kubernetes that
# deploy/README.md supports and the newest that kubernetes-validate knows.
K8S_DIRS := deploy/k8s/base $(wildcard deploy/k8s/overlays/*)
K8S_VERSIONS := 1.27 1.37
# The web console (web/): built into web/dist, which the gateway serves at /. Rebuilt only
# when a file of web/ changed (the stamp lives in dist, so removing dist rebuilds too).
WEB_SOURCES := $(shell find web -path web/node_modules -prune -o -path web/dist -prune -o -type f -print)
WEB_BUILT := web/dist/.built

# The console's browser tests drive Debian's Chromium through Playwright (no browser
# download); `make test` installs it with apt-get where it is missing.
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
PROTOS := $(shell find protos -name '*.proto')
GENERATED := gen/.generated

.PHONY: help run test smoke fuzz protos protos-publish lint lint-deploy lock bench demo clean venv openapi

# The venv holds exactly the lock: every package of requirements.lock.txt installed with its
# hashes checked and nothing resolved here (--no-deps), then whatever the lock no longer
# names removed.
$(SYNCED): $(LOCK)
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed (python3.11, python3.12 or python3.13 on PATH)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	@extra="$$($(PY) -m deploy.lockfile extraneous)"; \
	  if [ -n "$$extra" ]; then echo "not in $(LOCK): $$extra"; $(PY) -m pip uninstall --quiet --yes $$extra; fi
	@touch $@

# Then the project itself, editable, built by the lock's setuptools (no build isolation: nothing
# is fetched beside the lock), once pyproject.toml and the lock agree.
$(INSTALLED): $(SYNCED) pyproject.toml
	$(PY) -m deploy.lockfile check
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@# Generated protobuf code lives in gen/ (not committed); make it importable everywhere.
	$(PY) -c 'import site, pathlib; pathlib.Path(site.getsitepackages()[0], "vm-generated.pth").write_text(str(pathlib.Path("gen").resolve()) + "\n")'
	@touch $@

venv: $(INSTALLED) ## Create .venv/ and install exactly the lock (every other target does it first)

help: ## List the targets, one line each
	@awk 'BEGIN { FS = ":[^#]*## " } /^[a-z][a-z-]*:.*## / { printf "  make %-12s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

# Re-resolves pyproject.toml with uv (from the lock itself) into requirements.lock.txt and
# its exports for the image, deploy/requirements/*.txt. Pins already in the lock stay unless
# UPGRADE=1. Needs only the synced venv, so it also runs when pyproject.toml changed.
lock: $(SYNCED) ## Re-resolve pyproject.toml into the lock and its image exports (UPGRADE=1: newer transitives)
	$(PY) -m deploy.lockfile lock $(if $(UPGRADE),--upgrade)

$(GENERATED): $(INSTALLED) $(PROTOS)
	@rm -rf gen && mkdir -p gen
	$(PY) -m grpc_tools.protoc -Iprotos --python_out=gen --pyi_out=gen --grpc_python_out=gen $(PROTOS)
	@touch $@

protos: $(GENERATED) ## (Re)generate gen/ from protos/ with grpc_tools.protoc

protos-publish: node_modules/.bin/buf ## Record protos/ as the published gRPC contract that `make lint` keeps compatible
	cd protos && ../node_modules/.bin/buf build -o published.binpb

# The Python set-up and the console's build side by side (each waits on its own downloads).
run: ## The whole system on this machine, with the demo data (deploy/local.py)
	@$(MAKE) --no-print-directory -j2 $(GENERATED) $(WEB_BUILT)
	$(PY) -m deploy.local run

demo: $(GENERATED) ## Load the demo data into a running system, print the logins
	$(PY) -m demo

test: $(GENERATED) $(WEB_BUILT) $(CHROMIUM) ## pytest over tests/ (PYTEST_ARGS='...' for more arguments)
	$(PY) -m pytest $(PYTEST_ARGS)

# `make run` as the README says, on a clean clone of HEAD, through REST; stop and start again.
smoke: $(GENERATED) ## `make run` as the README says, on a clean copy, through REST
	$(PY) -m pytest tests/smoke -p no:cacheprovider $(PYTEST_ARGS)

# The REST contract fuzzed (schemathesis, every check, stateful phase) against the whole system
# as two callers; tests/fuzz/schemathesis.toml says what is configured away and why.
fuzz: $(GENERATED) ## schemathesis over openapi.json against the running system (tests/fuzz)
	$(PY) -m pytest tests/fuzz -s -p no:cacheprovider $(PYTEST_ARGS)

node_modules/.bin/buf: package.json
	npm install --no-audit --no-fund --silent
	@touch $@

lint: $(INSTALLED) $(GENERATED) node_modules/.bin/buf $(WEB_BUILT) lint-deploy ## ruff, ruff format --check, mypy (gateway, kit), buf lint and breaking, the console's eslint and size budget, lint-deploy
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	cd protos && ../node_modules/.bin/buf lint
	@# The gRPC contract as published: a change that would break its clients fails here.
	cd protos && ../node_modules/.bin/buf breaking --against published.binpb
	cd web && npm run lint
	@# The console's budget: the first screen's JavaScript at most 250 KB gzipped.
	cd web && npm run size

# deploy/ checked without a Docker engine, every tool from the lock (pyproject.toml's dev extra).
lint-deploy: $(INSTALLED) ## deploy/ without Docker: hadolint, kustomize + kubernetes-validate, compose schema, lock
	$(VENV)/bin/hadolint --no-color deploy/Dockerfile
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.compose-spec deploy/docker-compose.yml
	@set -eo pipefail; for dir in $(K8S_DIRS); do \
	  manifests="$$($(VENV)/bin/kubectl kustomize "$$dir")"; \
	  for version in $(K8S_VERSIONS); do \
	    echo "kubectl kustomize $$dir | kubernetes-validate --strict -k $$version"; \
	    printf '%s\n' "$$manifests" | $(VENV)/bin/kubernetes-validate --strict --quiet -k "$$version" /dev/stdin; \
	  done; \
	done
	$(PY) -m deploy.lockfile check

openapi: $(GENERATED) ## Write openapi.json from the gateway app (no running system)
	$(PY) -m gateway.openapi

bench: $(GENERATED) ## Benchmarks on loopback (never part of make test)
	$(PY) -m bench

clean: ## Remove gen/, .data/ and .pytest_cache/
	rm -rf gen .data .pytest_cache

$(WEB_BUILT): $(WEB_SOURCES)
	cd web && npm ci --no-audit --no-fund && npm run build
	@touch $@

.PHONY: web web-dev web-api
web: $(WEB_BUILT) ## Build the web console into web/dist (npm ci + vite build; Node 20.19+)

web-dev: ## The console's Vite dev server on :5173, /api proxied to `make run` on :8080
	cd web && { test -d node_modules || npm ci --no-audit --no-fund; } && npm run dev

web-api: $(GENERATED) ## Regenerate web/src/lib/schema.d.ts from the gateway's OpenAPI
	cd web && npm run gen:api

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "the console's browser tests need Chromium at $(CHROMIUM) (Debian/Ubuntu: apt-get install chromium)"; exit 1; }
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
