#!/usr/bin/env bash
# `make lambda-zip`: the Config rule for Lambda (provided.al2023) as
# $CARGO_TARGET_DIR/lambda/trailkey-rule/bootstrap.zip, one file `bootstrap` (mode 0755) at the
# root of the zip, the release profile of Cargo.toml. arm64 (the template's Architectures) unless
# LAMBDA_ARCH=x86_64.
#
# Two ways to build, one zip:
#   cargo-lambda  `cargo lambda build --release --arm64|--x86-64` (zig links against an old
#                 glibc). Used when the Rust standard library for the target is installed
#                 (`rustup target add aarch64-unknown-linux-gnu`), i.e. on most machines.
#   build-std     for builders that cannot download the aarch64 standard library (air-gapped,
#                 or rustup pointed at nothing): the nightly toolchain builds std from source,
#                 `cargo +nightly build --release -Zbuild-std=std,panic_unwind --target
#                 aarch64-unknown-linux-gnu`, with the source from Debian's `rust-src` package
#                 (fetched with a private apt configuration, the system's is not touched) and
#                 Debian's gcc-aarch64-linux-gnu as linker and C compiler (aws-lc-sys).
#                 The nightly's version and the rust-src version must match: both are pinned
#                 below, and a mismatch stops the build naming both.
# LAMBDA_BUILD=cargo-lambda|build-std forces one; the default (auto) picks as above.
#
# After either build the binary is checked: an ELF for the right machine, needing no glibc symbol
# newer than Amazon Linux 2023's (2.34). Prints the zip's path and size.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
step() { echo "lambda-zip: $*" >&2; }
fail() { step "ERROR: $*"; exit 1; }

BIN=trailkey-rule
ARCH="${LAMBDA_ARCH:-arm64}"
BUILD="${LAMBDA_BUILD:-auto}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT_DIR="$TARGET_DIR/lambda/$BIN"
ZIP="$OUT_DIR/bootstrap.zip"
CARGO_LAMBDA="${CARGO_LAMBDA:-$ROOT/.venv/deploy/bin/cargo-lambda}"
# glibc of Amazon Linux 2023 (provided.al2023): the newest symbol version the binary may need.
MAX_GLIBC="2.34"

# ---- the pins of the build-std path: change them together ----
# `rustc +nightly --version` of the toolchain the machine image carries.
PINNED_NIGHTLY="${LAMBDA_PINNED_NIGHTLY:-rustc 1.97.0-nightly (e50aa6fba 2026-05-19)}"
# Debian's rust-src for the same release (architecture `all`), and the folder it unpacks to.
RUST_SRC_DEB="${RUST_SRC_DEB:-1.97.1+dfsg1-1}"
RUST_SRC_TREE="usr/src/rustc-1.97.1"
# Where Debian's rust-src is searched (unstable first, then testing); the system's apt sources
# are not used or changed.
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_SUITES="${DEBIAN_SUITES:-sid testing}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/trailkey"

case "$ARCH" in
  arm64) TRIPLE=aarch64-unknown-linux-gnu; ELF_MACHINE=AArch64; LAMBDA_FLAG=--arm64 ;;
  x86_64) TRIPLE=x86_64-unknown-linux-gnu; ELF_MACHINE="X86-64"; LAMBDA_FLAG=--x86-64 ;;
  *) fail "LAMBDA_ARCH=$ARCH: want arm64 or x86_64" ;;
esac

target_installed() {
  local sysroot
  sysroot="$(rustc --print sysroot)" || return 1
  [[ -d "$sysroot/lib/rustlib/$TRIPLE/lib" ]]
}

if [[ "$BUILD" == auto ]]; then
  if target_installed; then BUILD=cargo-lambda; else BUILD=build-std; fi
  step "$ARCH: the $TRIPLE standard library is $([[ $BUILD == cargo-lambda ]] || echo 'not ')installed: $BUILD"
fi

# The nightly sysroot's lib/rustlib/src/rust, where -Zbuild-std looks for the library sources.
# A rustup rust-src component, when installed, matches the nightly exactly and is used as is;
# otherwise it becomes a link to Debian's rust-src unpacked under $CACHE.
ensure_rust_src() {
  local sysroot link src apt_dir deb
  sysroot="$(rustc +nightly --print sysroot)"
  link="$sysroot/lib/rustlib/src/rust"
  src="$CACHE/rust-src-$RUST_SRC_DEB/$RUST_SRC_TREE"
  if [[ -e "$link/library/std/Cargo.toml" && ! -L "$link" ]]; then
    step "std sources: the nightly's own rust-src component ($link)"
    return
  fi
  if [[ ! -f "$src/library/std/Cargo.toml" ]]; then
    apt_dir="$CACHE/apt"
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
    : >"$apt_dir/sources.list"
    for suite in $DEBIAN_SUITES; do
      echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $DEBIAN_MIRROR $suite main" \
        >>"$apt_dir/sources.list"
    done
    local apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o APT::Sandbox::User=root)
    step "fetching Debian rust-src $RUST_SRC_DEB ($DEBIAN_SUITES) into $CACHE"
    apt-get "${apt_opts[@]}" update -q >"$apt_dir/update.log" 2>&1 \
      || { tail -n 20 "$apt_dir/update.log" >&2; fail "apt-get update of $DEBIAN_SUITES failed"; }
    (cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" download "rust-src=$RUST_SRC_DEB" >"$apt_dir/download.log" 2>&1) \
      || { cat "$apt_dir/download.log" >&2
           fail "Debian rust-src $RUST_SRC_DEB is not in $DEBIAN_SUITES any more (have: $(apt-cache "${apt_opts[@]}" madison rust-src 2>/dev/null | awk -F'|' '{gsub(/ /,"",$2); print $2}' | sort -u | tr '\n' ' ')): install the $TRIPLE target with rustup, or move PINNED_NIGHTLY and RUST_SRC_DEB in scripts/lambda_zip.sh to a matching pair"; }
    deb="$(ls "$apt_dir/debs"/rust-src_*_all.deb)"
    rm -rf "$CACHE/rust-src-$RUST_SRC_DEB.tmp"
    dpkg-deb -x "$deb" "$CACHE/rust-src-$RUST_SRC_DEB.tmp"
    [[ -f "$CACHE/rust-src-$RUST_SRC_DEB.tmp/$RUST_SRC_TREE/library/std/Cargo.toml" ]] \
      || fail "$deb has no $RUST_SRC_TREE/library (the RUST_SRC_TREE pin is wrong)"
    rm -rf "$CACHE/rust-src-$RUST_SRC_DEB"
    mv "$CACHE/rust-src-$RUST_SRC_DEB.tmp" "$CACHE/rust-src-$RUST_SRC_DEB"
    rm -f "$deb"
  fi
  mkdir -p "$(dirname "$link")"
  ln -sfn "$src" "$link"
  step "std sources: Debian rust-src $RUST_SRC_DEB ($link -> $src)"
}

build_std() {
  [[ "$ARCH" == arm64 ]] || fail "the build-std path builds arm64 only (x86_64 uses cargo-lambda)"
  mkdir -p "$CACHE"
  local nightly
  nightly="$(rustc +nightly --version 2>/dev/null)" \
    || fail "no nightly toolchain (rustup toolchain list) and no $TRIPLE target: install one of them"
  [[ "$nightly" == "$PINNED_NIGHTLY" ]] \
    || fail "the build-std path pins '$PINNED_NIGHTLY' with Debian rust-src $RUST_SRC_DEB, but this machine's nightly is '$nightly': install the $TRIPLE target with rustup, or move both pins in scripts/lambda_zip.sh"
  ensure_rust_src
  command -v aarch64-linux-gnu-gcc >/dev/null || apt_install gcc-aarch64-linux-gnu \
    || fail "no aarch64 cross compiler (aarch64-linux-gnu-gcc)"
  step "cargo +nightly build --release -Zbuild-std=std,panic_unwind --target $TRIPLE --bin $BIN"
  CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
  CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
  AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar \
    cargo +nightly build --locked --release -Zbuild-std=std,panic_unwind --target "$TRIPLE" --bin "$BIN"
  BUILT="$TARGET_DIR/$TRIPLE/release/$BIN"
}

build_cargo_lambda() {
  [[ -x "$CARGO_LAMBDA" ]] || fail "cargo-lambda not found at $CARGO_LAMBDA (make deploy-venv installs it)"
  local venv_bin
  venv_bin="$(dirname "$CARGO_LAMBDA")"
  step "cargo lambda build --release $LAMBDA_FLAG --bin $BIN"
  # cargo-lambda finds zig as `python3 -m ziglang` from the deploy venv.
  PATH="$venv_bin:$PATH" "$CARGO_LAMBDA" lambda build --release "$LAMBDA_FLAG" --bin "$BIN"
  BUILT="$OUT_DIR/bootstrap"
}

case "$BUILD" in
  build-std) build_std ;;
  cargo-lambda) build_cargo_lambda ;;
  *) fail "LAMBDA_BUILD=$BUILD: want auto, cargo-lambda or build-std" ;;
esac
[[ -f "$BUILT" ]] || fail "the build left no binary at $BUILT"

# The binary Lambda will run: the right machine, and no glibc newer than provided.al2023's.
machine="$(LC_ALL=C readelf -h "$BUILT" | awk -F: '/Machine:/ {gsub(/^ +/, "", $2); print $2}')"
[[ "$machine" == *"$ELF_MACHINE"* ]] || fail "$BUILT is for '$machine', not $ELF_MACHINE"
glibc="$(LC_ALL=C readelf -V --wide "$BUILT" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)"
[[ -n "$glibc" ]] || fail "$BUILT needs no glibc symbol version (not a dynamic glibc binary?)"
[[ "$(printf '%s\n%s\n' "$glibc" "$MAX_GLIBC" | sort -V | tail -n 1)" == "$MAX_GLIBC" ]] \
  || fail "$BUILT needs GLIBC_$glibc; Amazon Linux 2023 has $MAX_GLIBC"

# The zip: `bootstrap` alone, 0755, a fixed timestamp (the same binary gives the same zip).
mkdir -p "$OUT_DIR"
python3 - "$BUILT" "$ZIP" <<'PY'
import sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
info.external_attr = (0o100755 << 16)
info.create_system = 3
info.compress_type = zipfile.ZIP_DEFLATED
with open(src, "rb") as f, zipfile.ZipFile(dst + ".tmp", "w") as z:
    z.writestr(info, f.read(), compresslevel=9)
import os
os.replace(dst + ".tmp", dst)
PY
zip_bytes="$(stat -c %s "$ZIP")"
bin_bytes="$(stat -c %s "$BUILT")"
step "$ZIP: $ARCH ($BUILD), bootstrap $bin_bytes bytes, zip $zip_bytes bytes, glibc <= $glibc"
echo "$ZIP"
