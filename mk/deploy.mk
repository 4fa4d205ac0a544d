# Deployment templates and the Lambda zip. Included by the root Makefile.
#
#   make deploy-venv     install cfn-lint, sam, cargo-lambda and zig into $(VENV_DIR)/deploy
#                        (once; again when requirements-deploy.txt changes)
#   make lint-templates  cfn-lint on every template, `sam validate --lint` on the SAM ones (offline)
#   make lambda-zip      build the Config rule for Lambda (arm64) as a zip, with cargo-lambda + zig
#   make sam-build       `sam build` (SAM_TEMPLATE, default template.yaml) with the same toolchain
#
# Needs only python3 (3.9+) and, for lambda-zip/sam-build, the Rust toolchain with the
# aarch64-unknown-linux-gnu target (cargo-lambda adds it through rustup when it is missing).

PYTHON          ?= python3
DEPLOY_VENV     := $(VENV_DIR)/deploy
DEPLOY_REQS     := $(CURDIR)/requirements-deploy.txt
DEPLOY_STAMP    := $(DEPLOY_VENV)/.trailkey-installed

# Templates linted by cfn-lint; the SAM (Transform) ones also go through `sam validate --lint`.
CFN_TEMPLATES   := template.yaml $(sort $(wildcard deploy/*.yaml))
SAM_TEMPLATES   := template.yaml deploy/org-central.yaml
SAM_TEMPLATE    ?= template.yaml

# The venv's bin first: cargo-lambda, sam, and `python3 -m ziglang` (how cargo-lambda finds zig).
# sam needs a region even to validate (no credentials: `sam validate --lint` works offline);
# telemetry off.
DEPLOY_ENV      := PATH="$(DEPLOY_VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 \
                   AWS_DEFAULT_REGION="$${AWS_DEFAULT_REGION:-us-east-1}"

LAMBDA_BIN      := trailkey-rule
LAMBDA_TARGET   := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
LAMBDA_ZIP      := $(LAMBDA_TARGET)/lambda/$(LAMBDA_BIN)/bootstrap.zip

.PHONY: deploy-venv lint-templates lambda-zip sam-build

deploy-venv: $(DEPLOY_STAMP)

$(DEPLOY_STAMP): $(DEPLOY_REQS)
	@echo "deploy-venv: installing $(notdir $(DEPLOY_REQS)) into $(DEPLOY_VENV)"
	@if [ ! -x "$(DEPLOY_VENV)/bin/python" ]; then \
	  $(PYTHON) -m venv "$(DEPLOY_VENV)" 2>/dev/null \
	  || { rm -rf "$(DEPLOY_VENV)" && $(PYTHON) -m venv --without-pip "$(DEPLOY_VENV)"; }; \
	fi
	@if [ -x "$(DEPLOY_VENV)/bin/pip" ]; then \
	  "$(DEPLOY_VENV)/bin/pip" install --quiet --disable-pip-version-check -r "$(DEPLOY_REQS)"; \
	else \
	  $(PYTHON) -m pip --python "$(DEPLOY_VENV)/bin/python" install --quiet --disable-pip-version-check -r "$(DEPLOY_REQS)"; \
	fi
	@for tool in cfn-lint sam cargo-lambda; do \
	  test -x "$(DEPLOY_VENV)/bin/$$tool" || { echo "deploy-venv: $$tool missing after install" >&2; exit 1; }; \
	done
	@"$(DEPLOY_VENV)/bin/python" -m ziglang version >/dev/null \
	  || { echo "deploy-venv: python -m ziglang does not run" >&2; exit 1; }
	@touch "$@"

lint-templates: deploy-venv
	@set -euo pipefail; \
	$(DEPLOY_ENV) cfn-lint $(CFN_TEMPLATES); \
	echo "lint-templates: cfn-lint clean: $(CFN_TEMPLATES)"; \
	for t in $(SAM_TEMPLATES); do \
	  $(DEPLOY_ENV) sam validate --lint --template-file "$$t"; \
	done

TEST_EXTRA += lint-templates

# cargo-lambda cross-compiles with zig (from the ziglang wheel) and zips the binary as `bootstrap`.
# LAMBDA_ARCH=x86_64 builds the x86_64 zip instead (the template's Architectures is arm64; this
# is for measuring on machines without the aarch64 Rust standard library).
LAMBDA_ARCH ?= arm64
lambda-zip: deploy-venv
	$(DEPLOY_ENV) cargo lambda build --release $(if $(filter x86_64,$(LAMBDA_ARCH)),--x86-64,--arm64) --output-format zip --bin $(LAMBDA_BIN)
	@test -f "$(LAMBDA_ZIP)" || { echo "lambda-zip: $(LAMBDA_ZIP) missing" >&2; exit 1; }
	@echo "lambda-zip: $(LAMBDA_ZIP)"

# SAM's rust-cargolambda build method runs the same `cargo lambda build --release --arm64
# --bin trailkey-rule` (so it reuses lambda-zip's compiled artifacts) and stages the result in
# .aws-sam/build for `sam deploy`. SAM_TEMPLATE=deploy/org-central.yaml builds organization mode.
sam-build: deploy-venv
	$(DEPLOY_ENV) sam build --template-file $(SAM_TEMPLATE)

# The real Lambda runtime, locally: trailkey-rule under `cargo lambda watch`, invoked with
# `cargo lambda invoke --data-file` against a seeded moto (scripts/lambda_local.sh). In make test.
.PHONY: lambda-local
lambda-local: deploy-venv moto-venv
	VENV_DIR="$(VENV_DIR)" scripts/lambda_local.sh

TEST_EXTRA += lambda-local
