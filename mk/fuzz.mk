# Fuzzing (cargo-fuzz, libFuzzer). Included by the root Makefile; not part of `make test`.
#
#   make fuzz                          every target for FUZZ_SECONDS each (seeds the corpus first)
#   make fuzz FUZZ_TARGETS=wildcard FUZZ_SECONDS=600
#   make fuzz-corpus                   (re)seed fuzz/corpus/ from the test fixtures
#
# Works on stable Rust: `-s none` builds without a sanitizer, which is the only part of
# cargo-fuzz that needs nightly. Needs `cargo install cargo-fuzz --locked`. One libFuzzer job.
# A crash lands in fuzz/artifacts/<target>/; keep it as tests/fixtures/fuzz/<target>/<name> so
# `cargo test --test fuzz_regressions` replays it (see fuzz/README.md).

FUZZ_TARGETS ?= policy_check invoking_event wildcard symbolic
FUZZ_SECONDS ?= 300
FUZZ_MAX_LEN ?= 4096

.PHONY: fuzz fuzz-corpus

fuzz-corpus:
	python3 fuzz/seed_corpus.py

fuzz: fuzz-corpus
	@command -v cargo-fuzz >/dev/null || { echo "fuzz: run 'cargo install cargo-fuzz --locked' first"; exit 1; }
	@set -e; for t in $(FUZZ_TARGETS); do \
	  echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
	  dict=""; if [ $$t = policy_check ] || [ $$t = symbolic ]; then dict="-dict=policy.dict"; fi; \
	  (cd fuzz && env -u CARGO_TARGET_DIR cargo fuzz run -s none $$t -- $$dict \
	    -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAX_LEN) -timeout=10 -print_final_stats=1); \
	done
