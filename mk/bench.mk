# Peers side by side (issue 6 §2) and the Lambda's cold start (issue 6 §4). Included by the root
# Makefile; NOT part of `make test`.
#
#   make bench-compare   install the pinned peers into .bench/ (once; again when a pin changes),
#                        build examples/bench_corpus, run the same corpus through trailkey,
#                        @cloud-copilot/iam-simulate, parliament and policyuniverse, and print
#                        the throughput table + the list of verdict differences
#                        (also saved as .bench/out/bench-compare.md)
#   make bench-peers     only install the peers
#   make bench-lambda    the release trailkey-rule bootstrap, 10 cold starts under
#                        `cargo lambda watch --only-lambda-apis` against a seeded moto
#                        (scripts/bench_lambda.sh): init → first event handled, median/min/max
#
# Pins live in the repo (bench/compare/package.json + package-lock.json, requirements-bench.txt);
# everything installed goes to .bench/ (git-ignored). Needs node >= 18 with npm, and python3.
# BENCH_ARGS is passed to scripts/bench_compare.py (e.g. BENCH_ARGS="--count 100 --rounds 1").

PYTHON           ?= python3
BENCH_DIR        := $(CURDIR)/.bench
BENCH_NPM_DIR    := $(BENCH_DIR)/npm
BENCH_NPM_STAMP  := $(BENCH_NPM_DIR)/.trailkey-installed
BENCH_VENV       := $(BENCH_DIR)/venv
BENCH_REQS       := $(CURDIR)/requirements-bench.txt
BENCH_VENV_STAMP := $(BENCH_VENV)/.trailkey-installed
BENCH_TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
BENCH_ARGS       ?=

.PHONY: bench-compare bench-peers

bench-peers: $(BENCH_NPM_STAMP) $(BENCH_VENV_STAMP)

# `npm ci` installs exactly what package-lock.json pins; the lock is copied next to package.json
# in .bench/npm so node_modules never lands in the repo.
$(BENCH_NPM_STAMP): bench/compare/package.json bench/compare/package-lock.json
	@echo "bench-peers: installing bench/compare/package-lock.json into $(BENCH_NPM_DIR)"
	@mkdir -p "$(BENCH_NPM_DIR)"
	@cp bench/compare/package.json bench/compare/package-lock.json "$(BENCH_NPM_DIR)/"
	@cd "$(BENCH_NPM_DIR)" && npm ci --no-audit --no-fund --loglevel=error
	@touch "$@"

$(BENCH_VENV_STAMP): $(BENCH_REQS)
	@echo "bench-peers: installing $(notdir $(BENCH_REQS)) into $(BENCH_VENV)"
	@if [ ! -x "$(BENCH_VENV)/bin/python" ]; then \
	  $(PYTHON) -m venv "$(BENCH_VENV)" 2>/dev/null \
	  || { rm -rf "$(BENCH_VENV)" && $(PYTHON) -m venv --without-pip "$(BENCH_VENV)"; }; \
	fi
	@if [ -x "$(BENCH_VENV)/bin/pip" ]; then \
	  "$(BENCH_VENV)/bin/pip" install --quiet --disable-pip-version-check -r "$(BENCH_REQS)"; \
	else \
	  $(PYTHON) -m pip --python "$(BENCH_VENV)/bin/python" install --quiet --disable-pip-version-check -r "$(BENCH_REQS)"; \
	fi
	@touch "$@"

# The example uses only the checker layers, so it builds without the AWS SDK.
bench-compare: bench-peers
	cargo build --release --no-default-features --example bench_corpus
	$(PYTHON) scripts/bench_compare.py --out-dir "$(BENCH_DIR)/out" \
	  --trailkey-bin "$(BENCH_TARGET_DIR)/release/examples/bench_corpus" \
	  --npm-dir "$(BENCH_NPM_DIR)" --venv-python "$(BENCH_VENV)/bin/python" $(BENCH_ARGS)

# BENCH_LAMBDA_ARGS is passed to scripts/bench_lambda.sh: --runs N, --warm N, --out FILE, and
# --zip PATH to measure the bootstrap inside a `make lambda-zip` zip instead of the release build.
BENCH_LAMBDA_ARGS ?=

.PHONY: bench-lambda
bench-lambda: deploy-venv moto-venv
	VENV_DIR="$(VENV_DIR)" scripts/bench_lambda.sh $(BENCH_LAMBDA_ARGS)
