#!/usr/bin/env bash
# The Lambda's cold start (`make bench-lambda`, issue 6 §4; not part of `make test`): the release
# `trailkey-rule` bootstrap started fresh RUNS times against `cargo lambda watch` (the local
# Lambda Runtime API) and a seeded moto, each time with its first event already queued, as on a
# Lambda cold start. Prints median/mean/min/max of the figures the bootstrap logs once, on its
# first event (`first event handled`, src/bin/trailkey-rule/cold_start.rs), and of two external
# timings: exec → reply of the cold invoke, and request → reply of warm invokes.
#
#   1. moto on a free loopback port; one key + trail `management-events` (scripts/seed_scale.py);
#      the event is events/06-trail-created-with-key.json with the seeded key (COMPLIANT): each
#      event makes 3 HTTP requests to moto (GetKeyPolicy, DescribeKey, PutEvaluations).
#   2. cargo lambda watch --only-lambda-apis: the Runtime API only. The script starts the
#      bootstrap itself, as Lambda does (exec, no `cargo run` in between: under plain
#      `cargo lambda watch` the process also spends cargo's up-to-date check before `main`).
#   3. per run: the invoke (curl to the watch's Lambda Invoke API, what `cargo lambda invoke`
#      sends) in the background, 1 s for the event to be queued, exec the bootstrap (t0), the
#      reply arrives (t1); then WARM more invokes (curl's time_total); then the bootstrap is
#      stopped. One extra run first is discarded: moto loads each service's backend on its first
#      request, which would land in the first run's figures.
#
#   scripts/bench_lambda.sh [--runs N] [--warm N] [--bootstrap PATH | --zip PATH] [--out FILE]
#
# Default bootstrap: $CARGO_TARGET_DIR/release/trailkey-rule (built here, `cargo build --release`,
# what `cargo lambda watch --release` runs). --zip measures the `bootstrap` inside a
# `make lambda-zip` zip; --out also writes the table there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
export VENV_DIR="${VENV_DIR:-$ROOT/.venv}"
PY="$VENV_DIR/moto/bin/python"
CARGO_LAMBDA="$VENV_DIR/deploy/bin/cargo-lambda"
RUNS=10
WARM=3
BOOTSTRAP=""
ZIP=""
OUT=""
step() { echo "bench-lambda: $*" >&2; }
fail() { step "FAIL: $*"; exit 1; }

while (($#)); do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --warm) WARM="$2"; shift 2 ;;
    --bootstrap) BOOTSTRAP="$2"; shift 2 ;;
    --zip) ZIP="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) fail "unknown argument: $1" ;;
  esac
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ && "$WARM" =~ ^[0-9]+$ ]] || fail "--runs and --warm take numbers"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/trailkey-bench-lambda.XXXXXX")"
MOTO_PID=""
WATCH_PID=""
FN_PID=""
INVOKE_PID=""
stop_fn() {
  local pid
  for pid in "$INVOKE_PID" "$FN_PID"; do
    [[ -n "$pid" ]] || continue
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  INVOKE_PID=""
  FN_PID=""
}
cleanup() {
  local rc=$?
  stop_fn
  if [[ -n "$WATCH_PID" ]]; then
    kill -- "-$WATCH_PID" 2>/dev/null || kill "$WATCH_PID" 2>/dev/null || true
    wait "$WATCH_PID" 2>/dev/null || true
  fi
  [[ -n "$MOTO_PID" ]] && scripts/moto.sh stop "$MOTO_PID" || true
  if ((rc != 0)); then
    for f in "$WORK"/watch.log "$WORK"/fn.log "$WORK"/invoke.out; do
      [[ -f "$f" ]] && { step "$f (last 20 lines):"; tail -n 20 "$f" >&2; }
    done
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -n "$ZIP" ]]; then
  [[ -f "$ZIP" ]] || fail "no zip at $ZIP (make lambda-zip)"
  "$PY" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("bootstrap", sys.argv[2])' \
    "$ZIP" "$WORK"
  chmod +x "$WORK/bootstrap"
  # An arm64 zip (the default of make lambda-zip) would run only under qemu here, whose timings
  # say nothing about Lambda's: measure the x86_64 zip instead.
  zip_machine="$(LC_ALL=C readelf -h "$WORK/bootstrap" | awk -F: '/Machine:/ {gsub(/^ +/, "", $2); print $2}')"
  [[ "$zip_machine" == *"X86-64"* ]] \
    || fail "the bootstrap in $ZIP is for '$zip_machine', not this machine: build the x86_64 zip (make lambda-zip LAMBDA_ARCH=x86_64)"
  BOOTSTRAP="$WORK/bootstrap"
elif [[ -z "$BOOTSTRAP" ]]; then
  step "building the release bootstrap (cargo build --release --bin trailkey-rule)"
  cargo build --release --bin trailkey-rule
  BOOTSTRAP="${CARGO_TARGET_DIR:-$ROOT/target}/release/trailkey-rule"
fi
[[ -x "$BOOTSTRAP" ]] || fail "no bootstrap at $BOOTSTRAP"

step "starting moto"
start_seeded_moto
with_seeded_key events/06-trail-created-with-key.json "$WORK/event.json"
eval "$("$PY" scripts/assume_role.py --endpoint "$ENDPOINT" --account 111111111111)"

LAMBDA_PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
step "cargo lambda watch --only-lambda-apis on 127.0.0.1:$LAMBDA_PORT"
set -m
"$CARGO_LAMBDA" lambda watch --only-lambda-apis -A 127.0.0.1 -P "$LAMBDA_PORT" \
  >"$WORK/watch.log" 2>&1 &
WATCH_PID=$!
set +m
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$LAMBDA_PORT") 2>/dev/null && break
  kill -0 "$WATCH_PID" 2>/dev/null || fail "cargo lambda watch exited"
  sleep 0.1
done

# What `cargo lambda watch --only-lambda-apis` asks the function's environment for (it prints
# them), and the function's own: moto, the assumed role, no developer config, JSON logs.
FN_ENV=(
  AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$LAMBDA_PORT/.rt"
  AWS_LAMBDA_FUNCTION_NAME=_ AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_FUNCTION_MEMORY_SIZE=4096
  AWS_LAMBDA_LOG_FORMAT=json RUST_LOG=info
  AWS_ENDPOINT_URL="$ENDPOINT" AWS_REGION=us-east-1
  AWS_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY"
  AWS_SESSION_TOKEN="$AWS_SESSION_TOKEN"
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_MAX_ATTEMPTS=1
)
# curl, not `cargo lambda invoke`: the CLI's own start-up (tens of ms) would swamp warm timings.
# Prints the reply, then on a last line curl's time_total (request sent → reply read, seconds).
invoke() {
  curl -sS --fail-with-body --max-time 60 -X POST --data-binary "@$WORK/event.json" -w '\n%{time_total}\n' \
    "http://127.0.0.1:$LAMBDA_PORT/2015-03-31/functions/_/invocations"
}

# One cold start: "t0 t1" in $WORK/times (microseconds, bash's EPOCHREALTIME: no `date` process in
# between): t0 just before the bootstrap is started (through `env -i`), t1 when its reply is in.
# The bootstrap's log goes to fn.log; it keeps running (FN_PID) for the warm invokes.
cold_start() {
  : >"$WORK/fn.log"
  (invoke >"$WORK/invoke.out" 2>&1; echo "$? ${EPOCHREALTIME/[.,]/}" >"$WORK/invoke.done") &
  INVOKE_PID=$!
  sleep 1
  local t0="${EPOCHREALTIME/[.,]/}"
  env -i PATH="$PATH" "${FN_ENV[@]}" "$BOOTSTRAP" >"$WORK/fn.log" 2>&1 &
  FN_PID=$!
  wait "$INVOKE_PID" || true
  INVOKE_PID=""
  local rc t1
  read -r rc t1 <"$WORK/invoke.done"
  ((rc == 0)) || fail "cold invoke failed: $(cat "$WORK/invoke.out")"
  grep -q '"ComplianceType": *"COMPLIANT"' "$WORK/invoke.out" \
    || fail "want COMPLIANT: $(cat "$WORK/invoke.out")"
  echo "$t0 $t1" >"$WORK/times"
}

: >"$WORK/runs.jsonl"
for run in $(seq 0 "$RUNS"); do
  cold_start
  read -r t0 t1 <"$WORK/times"
  warm=()
  for _ in $(seq 1 "$WARM"); do
    invoke >"$WORK/invoke.out" 2>&1 || fail "warm invoke failed: $(cat "$WORK/invoke.out")"
    warm+=("$(tail -n 1 "$WORK/invoke.out")")
  done
  stop_fn
  line="$(grep -F '"first event handled"' "$WORK/fn.log" || true)"
  [[ -n "$line" ]] || fail "run $run: no 'first event handled' line in the bootstrap's log"
  if ((run == 0)); then
    step "warm-up run done (discarded)"
    continue
  fi
  "$PY" - "$line" "$t0" "$t1" "${warm[@]}" >>"$WORK/runs.jsonl" <<'EOF'
import json, statistics, sys
fields = json.loads(sys.argv[1])["fields"]
t0, t1 = int(sys.argv[2]), int(sys.argv[3])
fields["exec_to_reply_ms"] = (t1 - t0) / 1e3
fields["warm_invoke_ms"] = [float(w) * 1e3 for w in sys.argv[4:]]
if fields["warm_invoke_ms"]:
    warm = statistics.median(fields["warm_invoke_ms"])
    fields["cold_minus_warm_ms"] = fields["exec_to_reply_ms"] - warm
print(json.dumps(fields))
EOF
  step "run $run/$RUNS: $(tail -n 1 "$WORK/runs.jsonl")"
done

"$PY" - "$WORK/runs.jsonl" "${ZIP:-$BOOTSTRAP}" "$(wc -c <"$BOOTSTRAP")" "${OUT:-/dev/null}" <<'EOF'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
rows = [
    ("init_to_first_event_ms", "process start → first event handled (in the bootstrap)"),
    ("before_main_ms", "process start → `main` (from /proc, 10 ms ticks: read the mean)"),
    ("main_to_ready_ms", "`main` → ready to poll (tracing, SDK config, clients)"),
    ("waiting_ms", "ready → event in the handler (Runtime API `next`)"),
    ("first_event_ms", "first event in the handler (GetKeyPolicy, DescribeKey, PutEvaluations to moto)"),
    ("main_to_first_event_ms", "`main` → first event handled"),
    ("exec_to_reply_ms", "cold invoke: exec → reply received (external, curl)"),
    ("warm_invoke_ms", "warm invoke: request → reply (external, curl `time_total`)"),
    ("cold_minus_warm_ms", "cold − warm: `exec_to_reply_ms` − the run's median warm invoke"),
]
out = [
    f"bootstrap: {sys.argv[2]} ({int(sys.argv[3])} bytes), "
    f"{len(runs)} cold starts, {sum(len(r['warm_invoke_ms']) for r in runs)} warm invokes",
    "",
    "| figure | median ms | mean ms | min ms | max ms | what |",
    "|---|---:|---:|---:|---:|---|",
]
for key, what in rows:
    vals = []
    for r in runs:
        v = r.get(key)
        vals.extend(v if isinstance(v, list) else [] if v is None else [v])
    if vals:
        out.append(
            f"| `{key}` | {statistics.median(vals):.1f} | {statistics.mean(vals):.1f} "
            f"| {min(vals):.1f} | {max(vals):.1f} | {what} |"
        )
text = "\n".join(out)
print(text)
if sys.argv[4] != "/dev/null":
    with open(sys.argv[4], "w") as f:
        f.write(text + "\n\nruns (JSON, one per cold start):\n")
        f.writelines(json.dumps(r) + "\n" for r in runs)
EOF
