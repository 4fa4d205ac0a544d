# trailkey — every command a developer or CI needs. `make test` is the one test command.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export CARGO_TERM_COLOR ?= never

VENV_DIR  ?= $(CURDIR)/.venv

.PHONY: help build test unit lint fmt clippy demo demo-offline
help:
	@echo "make build   build the CLI and the Config rule"
	@echo "make test    everything CI runs: fmt, clippy, unit + integration tests, template validation"
	@echo "make demo    the full local demo against a local AWS (moto): scan + replay, one table"
	@echo "make demo-offline  the checker alone on the documented scenarios (no AWS, no Python)"
	@echo "make fuzz    run every fuzz target for 5 minutes (stable Rust, needs cargo-fuzz; see fuzz/README.md)"

build:
	cargo build --bins

fmt:
	cargo fmt --all -- --check

clippy:
	cargo clippy --all-targets -- -D warnings

unit:
	cargo test --all-targets

# Python tooling is installed on demand into venvs under .venv/ by the fragments in mk/:
#   mk/local.mk  — moto server (local AWS) for integration tests and the demo
#   mk/deploy.mk — cfn-lint, sam, cargo-lambda + ziglang for templates and the Lambda zip
# Each fragment appends its test targets to TEST_EXTRA.
-include mk/*.mk

test: fmt clippy unit $(TEST_EXTRA)
	@echo "make test: all checks passed"

# The local-AWS demo (moto); `make demo-offline` is the checker alone on the seed scenarios.
demo: demo-aws

demo-offline:
	scripts/demo_check.sh
