#!/usr/bin/env bash
# `make lambda-boot` (in `make test`): the `bootstrap` from the zip we ship
# ($CARGO_TARGET_DIR/lambda/trailkey-rule/bootstrap.zip, built by `make lambda-zip`) boots the way
# Lambda starts it and handles three events against moto:
#   1. a key created with the documented CloudTrail key policy (events/01, the seeded key)
#      -> COMPLIANT
#   2. a trail without a key (events/07)                                     -> NON_COMPLIANT
#   3. a bad event (events/bad/unknown-message-type.json) -> an invocation error trailkey.InvalidEvent
# The arm64 binary runs under qemu-user (`qemu-aarch64 -L /usr/aarch64-linux-gnu`, Debian's
# qemu-user and libc6-arm64-cross, installed when missing); an x86_64 zip (LAMBDA_ARCH=x86_64) runs
# natively. The Lambda Runtime API is scripts/runtime_api.py; the function's environment is what
# Lambda sets (AWS_LAMBDA_RUNTIME_API, AWS_LAMBDA_FUNCTION_*, AWS_LAMBDA_LOG_*), plus the SDK
# pointed at moto with an assumed role's credentials of 111111111111.
# Timings under qemu are not Lambda's and are not reported.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
export VENV_DIR="${VENV_DIR:-$ROOT/.venv}"
PY="$VENV_DIR/moto/bin/python"
ARCH="${LAMBDA_ARCH:-arm64}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
ZIP="$TARGET_DIR/lambda/trailkey-rule/bootstrap.zip"
BOOT_TIMEOUT="${LAMBDA_BOOT_TIMEOUT:-180}"   # seconds for all three events (qemu is slow)
step() { echo "lambda-boot: $*" >&2; }
fail() { step "FAIL: $*"; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/trailkey-boot.XXXXXX")"
MOTO_PID=""
API_PID=""
FN_PID=""
cleanup() {
  local rc=$?
  for pid in "$FN_PID" "$API_PID"; do
    [[ -n "$pid" ]] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  done
  [[ -n "$MOTO_PID" ]] && scripts/moto.sh stop "$MOTO_PID" || true
  if ((rc != 0)) && [[ -f "$WORK/function.log" ]]; then
    step "function log (last 40 lines):"
    tail -n 40 "$WORK/function.log" >&2 || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[[ -f "$ZIP" ]] || fail "$ZIP missing (make lambda-zip)"
names="$(unzip -Z1 "$ZIP")"
[[ "$names" == bootstrap ]] || fail "$ZIP holds '$names', want exactly 'bootstrap'"
unzip -q -o "$ZIP" -d "$WORK/task"
[[ -x "$WORK/task/bootstrap" ]] || fail "bootstrap in $ZIP is not executable"

case "$ARCH" in
  arm64)
    command -v qemu-aarch64 >/dev/null || APT_LOG="$WORK/apt.log" apt_install qemu-user \
      || fail "qemu-aarch64 is needed to boot the arm64 bootstrap"
    [[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]] \
      || APT_LOG="$WORK/apt.log" apt_install libc6-arm64-cross \
      || fail "the aarch64 glibc (/usr/aarch64-linux-gnu) is needed to boot the arm64 bootstrap"
    RUN=(qemu-aarch64 -L /usr/aarch64-linux-gnu "$WORK/task/bootstrap")
    ;;
  x86_64) RUN=("$WORK/task/bootstrap") ;;
  *) fail "LAMBDA_ARCH=$ARCH: want arm64 or x86_64" ;;
esac
file_out="$(LC_ALL=C readelf -h "$WORK/task/bootstrap" | awk -F: '/Machine:/ {gsub(/^ +/, "", $2); print $2}')"
step "booting $ARCH bootstrap ($file_out) from $ZIP"

step "starting moto"
start_seeded_moto
with_seeded_key events/01-key-created-compliant.json "$WORK/01-key.json"
# moto answers ListEventDataStores with a 500, so the key event runs with checkEventDataStores=false
# (the rule parameter for Regions without CloudTrail Lake).
python3 - "$WORK/01-key.json" "$WORK/01.json" <<'PY'
import json, sys
event = json.load(open(sys.argv[1]))
params = json.loads(event.get("ruleParameters") or "{}")
params["checkEventDataStores"] = "false"
event["ruleParameters"] = json.dumps(params)
json.dump(event, open(sys.argv[2], "w"))
PY
mkdir -p "$WORK/out"
python3 scripts/runtime_api.py --port-file "$WORK/api.port" --out "$WORK/out" \
  "$WORK/01.json" events/07-trail-without-key.json events/bad/unknown-message-type.json \
  >"$WORK/api.log" 2>&1 &
API_PID=$!
for _ in $(seq 1 100); do [[ -s "$WORK/api.port" ]] && break; sleep 0.1; done
[[ -s "$WORK/api.port" ]] || fail "the Runtime API stand-in did not start: $(cat "$WORK/api.log")"
API_PORT="$(cat "$WORK/api.port")"

eval "$("$PY" scripts/assume_role.py --endpoint "$ENDPOINT" --account 111111111111)"
step "bootstrap with AWS_LAMBDA_RUNTIME_API=127.0.0.1:$API_PORT, AWS_ENDPOINT_URL=$ENDPOINT"
env -i PATH="$PATH" HOME="$WORK" \
  AWS_LAMBDA_RUNTIME_API="127.0.0.1:$API_PORT" \
  AWS_LAMBDA_FUNCTION_NAME=trailkey-rule AWS_LAMBDA_FUNCTION_VERSION='$LATEST' \
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256 \
  AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/trailkey-rule \
  AWS_LAMBDA_LOG_STREAM_NAME=2026/12/02/boot-test \
  LAMBDA_TASK_ROOT="$WORK/task" _HANDLER=bootstrap \
  AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
  AWS_ENDPOINT_URL="$ENDPOINT" AWS_MAX_ATTEMPTS=1 \
  AWS_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
  AWS_SESSION_TOKEN="$AWS_SESSION_TOKEN" \
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true \
  RUST_LOG=info \
  "${RUN[@]}" >"$WORK/function.log" 2>&1 &
FN_PID=$!

deadline=$((SECONDS + BOOT_TIMEOUT))
until [[ -f "$WORK/out/done" || -f "$WORK/out/init.error.json" ]]; do
  kill -0 "$FN_PID" 2>/dev/null || fail "bootstrap exited before handling the three events"
  ((SECONDS < deadline)) || fail "the three events were not all answered within ${BOOT_TIMEOUT}s"
  sleep 0.5
done
[[ ! -f "$WORK/out/init.error.json" ]] || fail "init error: $(cat "$WORK/out/init.error.json")"
# After the third event the runtime asks for the next one and waits: it is still up.
kill -0 "$FN_PID" 2>/dev/null || fail "bootstrap exited after the events"

# assert_eval N RESOURCE_ID COMPLIANCE [ANNOTATION_TEXT]: reply N put an evaluation of RESOURCE_ID
# with that compliance type (and annotation text).
assert_eval() {
  local n="$1" id="$2" want="$3" text="${4:-}"
  [[ -f "$WORK/out/$n.response.json" ]] || fail "event $n: no reply ($(cat "$WORK/out/$n".*.json 2>/dev/null))"
  python3 - "$WORK/out/$n.response.json" "$id" "$want" "$text" <<'PY' || fail "event $n: $(cat "$WORK/out/$n.response.json")"
import json, sys
path, rid, want, text = sys.argv[1:]
body = json.load(open(path))["body"]
evals = [e for e in body.get("evaluations", []) if e.get("ComplianceResourceId") == rid]
assert body.get("put") == len(body.get("evaluations", [])) > 0, "put != evaluations"
assert len(evals) == 1, f"want one evaluation of {rid}"
assert evals[0]["ComplianceType"] == want, f"{rid} is {evals[0]['ComplianceType']}, want {want}"
assert text in (evals[0].get("Annotation") or ""), f"annotation lacks {text!r}"
PY
  step "event $n: $id $want${text:+ ($text)}"
}
assert_eval 1 "$KEY_ID" COMPLIANT
assert_eval 2 management-events NON_COMPLIANT TRAIL_NOT_ENCRYPTED
[[ -f "$WORK/out/3.error.json" ]] || fail "event 3 (bad event): want an invocation error, got $(cat "$WORK/out/3".*.json)"
python3 - "$WORK/out/3.error.json" <<'PY' || fail "event 3: $(cat "$WORK/out/3.error.json")"
import json, sys
err = json.load(open(sys.argv[1]))
# lambda_runtime sends the header `Lambda-Runtime-Function-Error-Type: unhandled`; the error type
# Lambda reports to the caller is the body's errorType.
assert err["errorType"], err
assert err["body"]["errorType"] == "trailkey.InvalidEvent", err
assert err["body"]["errorMessage"], err
PY
step "event 3: invocation error trailkey.InvalidEvent"
step "ok: the $ARCH bootstrap from the shipped zip booted and handled the three events against moto"
