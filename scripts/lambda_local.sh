#!/usr/bin/env bash
# The real Lambda runtime, locally (`make lambda-local`, part of `make test`): the actual
# `trailkey-rule` binary under `cargo lambda watch` (cargo-lambda's Lambda runtime emulator),
# invoked with `cargo lambda invoke --data-file` against a moto server seeded with one key and
# one trail. Asserts the invocation results and the error a bad event returns.
#
#   1. moto on a free loopback port; one key + trail `management-events` (scripts/seed_scale.py)
#   2. cargo lambda watch --ignore-changes -P PORT --bin trailkey-rule,
#      with the function's environment pointing the SDK at moto (AWS_ENDPOINT_URL, credentials
#      of an assumed role in 111111111111)
#   3. cargo lambda invoke trailkey-rule --data-file <event> for: a trail without a key
#      (NON_COMPLIANT), a trail created with the seeded key (COMPLIANT, key read from moto), a bad
#      event (an error of type trailkey.InvalidEvent)
# Everything is stopped on exit, error or ^C.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
export VENV_DIR="${VENV_DIR:-$ROOT/.venv}"
PY="$VENV_DIR/moto/bin/python"
CARGO_LAMBDA="$VENV_DIR/deploy/bin/cargo-lambda"
step() { echo "lambda-local: $*" >&2; }
fail() { step "FAIL: $*"; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/trailkey-lambda.XXXXXX")"
MOTO_PID=""
WATCH_PID=""
cleanup() {
  local rc=$?
  if [[ -n "$WATCH_PID" ]]; then
    kill -- "-$WATCH_PID" 2>/dev/null || kill "$WATCH_PID" 2>/dev/null || true
    wait "$WATCH_PID" 2>/dev/null || true
  fi
  [[ -n "$MOTO_PID" ]] && scripts/moto.sh stop "$MOTO_PID" || true
  if ((rc != 0)) && [[ -f "$WORK/watch.log" ]]; then
    step "cargo lambda watch log (last 40 lines):"
    tail -n 40 "$WORK/watch.log" >&2 || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

step "building trailkey-rule (cargo lambda watch then starts it from the same build)"
cargo build --bin trailkey-rule

step "starting moto"
start_seeded_moto

# The function's environment: moto, an assumed role of 111111111111, no developer config.
eval "$("$PY" scripts/assume_role.py --endpoint "$ENDPOINT" --account 111111111111)"
LAMBDA_PORT="$(free_port)"
step "cargo lambda watch on 127.0.0.1:$LAMBDA_PORT"
set -m
"$CARGO_LAMBDA" lambda watch --ignore-changes \
  -A 127.0.0.1 -P "$LAMBDA_PORT" --bin trailkey-rule \
  --env-var "AWS_ENDPOINT_URL=$ENDPOINT" \
  --env-var "AWS_REGION=us-east-1" \
  --env-var "AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID" \
  --env-var "AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY" \
  --env-var "AWS_SESSION_TOKEN=$AWS_SESSION_TOKEN" \
  --env-var "AWS_CONFIG_FILE=/dev/null" \
  --env-var "AWS_SHARED_CREDENTIALS_FILE=/dev/null" \
  --env-var "AWS_MAX_ATTEMPTS=1" \
  --env-var "RUST_LOG=info" \
  >"$WORK/watch.log" 2>&1 &
WATCH_PID=$!
set +m
for _ in $(seq 1 600); do
  (exec 3<>"/dev/tcp/127.0.0.1/$LAMBDA_PORT") 2>/dev/null && break
  kill -0 "$WATCH_PID" 2>/dev/null || fail "cargo lambda watch exited"
  sleep 0.5
done

# `cargo lambda invoke` prints the function's reply; the function is compiled on first invoke.
invoke() {
  "$CARGO_LAMBDA" lambda invoke trailkey-rule -A 127.0.0.1 -P "$LAMBDA_PORT" \
    --data-file "$1" --output-format json 2>&1
}

step "invoke: events/07-trail-without-key.json"
out="$(invoke events/07-trail-without-key.json)" || fail "invoke 07: $out"
grep -q '"ComplianceType": *"NON_COMPLIANT"' <<<"$out" || fail "07: want NON_COMPLIANT, got: $out"
grep -q 'TRAIL_NOT_ENCRYPTED' <<<"$out" || fail "07: want TRAIL_NOT_ENCRYPTED, got: $out"

step "invoke: events/06-trail-created-with-key.json (with the seeded key)"
with_seeded_key events/06-trail-created-with-key.json "$WORK/06.json"
out="$(invoke "$WORK/06.json")" || fail "invoke 06: $out"
grep -q '"ComplianceResourceId": *"management-events"' <<<"$out" || fail "06: no trail evaluation: $out"
grep -q '"ComplianceType": *"COMPLIANT"' <<<"$out" || fail "06: want COMPLIANT, got: $out"

step "invoke: events/bad/unknown-message-type.json (must fail with trailkey.InvalidEvent)"
if out="$(invoke events/bad/unknown-message-type.json)"; then
  fail "bad event: the invocation succeeded: $out"
fi
grep -q 'trailkey.InvalidEvent' <<<"$out" || fail "bad event: want error type trailkey.InvalidEvent, got: $out"

step "ok: the trailkey-rule binary ran under the Lambda runtime emulator against moto"
