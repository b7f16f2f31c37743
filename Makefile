# Virtual Manager — the two commands that matter: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && echo $$p && break; done)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
PROTOS := $(shell find protos -name '*.proto')
GENERATED := gen/.generated

.PHONY: run test protos lint bench demo clean venv

$(INSTALLED): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed (python3.11, python3.12 or python3.13 on PATH)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@# Generated protobuf code lives in gen/ (not committed); make it importable everywhere.
	$(PY) -c 'import site, pathlib; pathlib.Path(site.getsitepackages()[0], "vm-generated.pth").write_text(str(pathlib.Path("gen").resolve()) + "\n")'
	@touch $@

venv: $(INSTALLED)

$(GENERATED): $(INSTALLED) $(PROTOS)
	@rm -rf gen && mkdir -p gen
	$(PY) -m grpc_tools.protoc -Iprotos --python_out=gen --pyi_out=gen --grpc_python_out=gen $(PROTOS)
	@touch $@

protos: $(GENERATED)

run: $(GENERATED)
	$(PY) -m deploy.local run

demo: $(GENERATED)
	$(PY) -m demo

test: $(GENERATED)
	$(PY) -m pytest $(PYTEST_ARGS)

node_modules/.bin/buf: package.json
	npm install --no-audit --no-fund --silent
	@touch $@

lint: $(INSTALLED) node_modules/.bin/buf
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	cd protos && ../node_modules/.bin/buf lint

bench: $(GENERATED)
	$(PY) -m bench

clean:
	rm -rf gen .data .pytest_cache
