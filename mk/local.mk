# Local AWS (moto server) for the integration tests and the demo. Included by the root Makefile.
#
#   make moto-venv   install moto into $(VENV_DIR)/moto (once; again when requirements-moto.txt changes)
#   make moto-smoke  start moto, seed the demo scenarios, read them back, stop moto
#   make demo-aws    the local-AWS demo (scripts/demo.sh; needs `trailkey scan`/`replay`, issue 4)
#
# Needs only python3 (3.9+). If `python3 -m venv` lacks ensurepip (Debian without python3-venv),
# the venv is made --without-pip and filled by the host's pip (`pip --python`, pip >= 22.3).

PYTHON          ?= python3
MOTO_VENV       := $(VENV_DIR)/moto
MOTO_REQS       := $(CURDIR)/requirements-moto.txt
MOTO_STAMP      := $(MOTO_VENV)/.trailkey-installed

# The Rust integration tests start moto themselves from this path (make exports it to `cargo test`).
export TRAILKEY_MOTO_SERVER := $(MOTO_VENV)/bin/moto_server

.PHONY: moto-venv moto-smoke demo-table-test

moto-venv: $(MOTO_STAMP)

$(MOTO_STAMP): $(MOTO_REQS)
	@echo "moto-venv: installing $(notdir $(MOTO_REQS)) into $(MOTO_VENV)"
	@if [ ! -x "$(MOTO_VENV)/bin/python" ]; then \
	  $(PYTHON) -m venv "$(MOTO_VENV)" 2>/dev/null \
	  || { rm -rf "$(MOTO_VENV)" && $(PYTHON) -m venv --without-pip "$(MOTO_VENV)"; }; \
	fi
	@if [ -x "$(MOTO_VENV)/bin/pip" ]; then \
	  "$(MOTO_VENV)/bin/pip" install --quiet --disable-pip-version-check -r "$(MOTO_REQS)"; \
	else \
	  $(PYTHON) -m pip --python "$(MOTO_VENV)/bin/python" install --quiet --disable-pip-version-check -r "$(MOTO_REQS)"; \
	fi
	@test -x "$(TRAILKEY_MOTO_SERVER)" || { echo "moto-venv: $(TRAILKEY_MOTO_SERVER) missing after install" >&2; exit 1; }
	@touch "$@"

# `cargo test` (the root `unit` target) runs integration tests that need the moto server.
unit: moto-venv

# Seeds every demo scenario into a fresh moto and checks it reads back as written.
moto-smoke: moto-venv
	@set -euo pipefail; \
	started="$$(scripts/moto.sh start)"; read -r port pid <<<"$$started"; \
	trap 'scripts/moto.sh stop $$pid' EXIT; \
	"$(MOTO_VENV)/bin/python" scripts/seed_demo.py --endpoint "http://127.0.0.1:$$port" --verify >/dev/null; \
	echo "moto-smoke: seeded and verified all demo scenarios"

# The demo's table renderer (stdlib only; no venv needed).
demo-table-test:
	PYTHONDONTWRITEBYTECODE=1 $(PYTHON) -m unittest discover -s scripts -p 'test_*.py' -v

TEST_EXTRA += demo-table-test moto-smoke

demo-aws:
	scripts/demo.sh
