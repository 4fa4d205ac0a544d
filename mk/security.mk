# Supply-chain checks with cargo-deny (config: deny.toml). Included by the root Makefile.
#
#   make deny   licenses (allow-list), bans (duplicate versions warn), sources (crates.io only)
#
# cargo-deny is installed once into .tools/ (gitignored), pinned and --locked; with CI's shared
# CARGO_TARGET_DIR a fresh clone re-links it instead of rebuilding. The check itself runs offline
# in ~3 s. Advisories are not checked here: the RustSec database lives on GitHub, which this
# workplace cannot reach (run `cargo deny check advisories` where it can).

CARGO_DENY_VERSION ?= 0.20.2
TOOLS_DIR          ?= $(CURDIR)/.tools
CARGO_DENY         := $(TOOLS_DIR)/bin/cargo-deny
# One stamp per version, so bumping CARGO_DENY_VERSION reinstalls.
CARGO_DENY_STAMP   := $(TOOLS_DIR)/.cargo-deny-$(CARGO_DENY_VERSION)

.PHONY: deny
deny: $(CARGO_DENY_STAMP)
	# cargo-deny reads `cargo metadata` for every platform, so crates that only other targets use
	# (windows-sys, android_system_properties) must be in the local registry before it runs offline;
	# `cargo fetch` without --target downloads them (crates.io is reachable, GitHub is not).
	cargo fetch --locked
	$(CARGO_DENY) --offline check licenses bans sources

$(CARGO_DENY_STAMP):
	cargo install cargo-deny --version $(CARGO_DENY_VERSION) --locked --force --root $(TOOLS_DIR)
	touch $@

TEST_EXTRA += deny
