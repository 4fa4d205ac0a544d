# Deployment templates and the Lambda zip. Included by the root Makefile.
#
#   make deploy-venv     install cfn-lint, sam, cargo-lambda and zig into $(VENV_DIR)/deploy
#                        (once; again when requirements-deploy.txt changes)
#   make lint-templates  cfn-lint on every template, `sam validate --lint` on the SAM ones (offline)
#   make lambda-zip      build the Config rule for Lambda (arm64) as a zip (scripts/lambda_zip.sh)
#   make lambda-boot     boot the zip's bootstrap (qemu-user for arm64) against moto (in make test)
#   make sam-build       `sam build` (SAM_TEMPLATE, default template.yaml), or the zip staged for
#                        `sam deploy` where rustup has no aarch64 target
#
# Needs python3 (3.9+) and the Rust toolchain: with the aarch64-unknown-linux-gnu target
# (cargo-lambda + zig), or without it the nightly toolchain plus Debian packages fetched as needed
# (rust-src, gcc-aarch64-linux-gnu; qemu-user for lambda-boot).

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

# The zip we ship: scripts/lambda_zip.sh builds `bootstrap` (arm64 unless LAMBDA_ARCH=x86_64)
# with `cargo lambda build` where rustup has the target, else with nightly -Zbuild-std and
# Debian's rust-src (pinned; a mismatch is named), and zips it alone, 0755, in $(LAMBDA_ZIP).
# LAMBDA_BUILD=cargo-lambda|build-std forces a path. The cargo target cache is reused.
LAMBDA_ARCH  ?= arm64
LAMBDA_BUILD ?= auto
lambda-zip: deploy-venv
	LAMBDA_ARCH=$(LAMBDA_ARCH) LAMBDA_BUILD=$(LAMBDA_BUILD) CARGO_TARGET_DIR="$(LAMBDA_TARGET)" \
	  CARGO_LAMBDA="$(DEPLOY_VENV)/bin/cargo-lambda" scripts/lambda_zip.sh

# The shipped artifact, booted: the bootstrap from $(LAMBDA_ZIP) (arm64 under qemu-user) against
# a Runtime API stand-in and moto handles a key change, a trail without a key and a bad event
# (scripts/lambda_boot.sh). In make test.
.PHONY: lambda-boot
lambda-boot: lambda-zip moto-venv
	LAMBDA_ARCH=$(LAMBDA_ARCH) CARGO_TARGET_DIR="$(LAMBDA_TARGET)" VENV_DIR="$(VENV_DIR)" \
	  scripts/lambda_boot.sh

TEST_EXTRA += lambda-boot

# SAM's rust-cargolambda build method runs the same `cargo lambda build --release --arm64
# --bin trailkey-rule` (so it reuses lambda-zip's compiled artifacts) and stages the result in
# .aws-sam/build for `sam deploy`. SAM_TEMPLATE=deploy/org-central.yaml builds organization mode.
# Where rustup has no aarch64 target, `sam build` cannot run cargo-lambda; then the zip from
# lambda-zip is staged instead: .aws-sam/build/template.yaml is the template with the function's
# CodeUri pointing at the zip (scripts/prebuilt_template.py), which `sam deploy` uses as is.
sam-build: deploy-venv
	@set -euo pipefail; \
	if [ -d "$$(rustc --print sysroot)/lib/rustlib/aarch64-unknown-linux-gnu/lib" ]; then \
	  $(DEPLOY_ENV) sam build --template-file $(SAM_TEMPLATE); \
	else \
	  echo "sam-build: no aarch64 target in rustup: staging the zip from make lambda-zip"; \
	  $(MAKE) --no-print-directory lambda-zip LAMBDA_ARCH=arm64; \
	  $(DEPLOY_ENV) python3 scripts/prebuilt_template.py --template $(SAM_TEMPLATE) \
	    --zip "$(LAMBDA_ZIP)" --out .aws-sam/build/template.yaml; \
	fi

# That staged path, checked for template.yaml and deploy/org-central.yaml: the generated templates
# lint clean and `sam package` against moto's S3 uploads exactly the built zip
# (scripts/sam_prebuilt.sh). In make test.
.PHONY: sam-prebuilt
sam-prebuilt: lambda-zip moto-venv
	CARGO_TARGET_DIR="$(LAMBDA_TARGET)" VENV_DIR="$(VENV_DIR)" scripts/sam_prebuilt.sh

TEST_EXTRA += sam-prebuilt

# The real Lambda runtime, locally: trailkey-rule under `cargo lambda watch`, invoked with
# `cargo lambda invoke --data-file` against a seeded moto (scripts/lambda_local.sh). In make test.
.PHONY: lambda-local
lambda-local: deploy-venv moto-venv
	VENV_DIR="$(VENV_DIR)" scripts/lambda_local.sh

TEST_EXTRA += lambda-local
