#!/usr/bin/env bash
# The periodic sweep at scale (`make bench-sweep`, issue 6 §3; not part of `make test`):
# N trails and N keys (default 1000) seeded into a local moto, then one periodic Config event
# through the real handler and SDK clients (`trailkey replay --call-counts`, release build) under
# GNU time. Prints the AWS calls by operation, the evaluations put, wall time, trailkey's own CPU
# time (user + sys of the trailkey process; moto runs in another process) and peak RSS.
#
#   SWEEP_N=1000 scripts/bench_sweep.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export VENV_DIR="${VENV_DIR:-$ROOT/.venv}"
PY="$VENV_DIR/moto/bin/python"
N="${SWEEP_N:-1000}"
TRAILKEY="${CARGO_TARGET_DIR:-target}/release/trailkey"
step() { echo "bench-sweep: $*" >&2; }

cargo build --release --bin trailkey
WORK="$(mktemp -d "${TMPDIR:-/tmp}/trailkey-sweep.XXXXXX")"
MOTO_PID=""
cleanup() {
  local rc=$?
  [[ -n "$MOTO_PID" ]] && scripts/moto.sh stop "$MOTO_PID" || true
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT

export MOTO_LOG="$WORK/moto.log"
read -r MOTO_PORT MOTO_PID <<<"$(scripts/moto.sh start)"
ENDPOINT="http://127.0.0.1:$MOTO_PORT"
step "seeding $N keys and $N trails (every 10th key broken)"
seed_start=$(date +%s)
"$PY" scripts/seed_scale.py --endpoint "$ENDPOINT" --keys "$N" --trails "$N" --broken-every 10 \
  >"$WORK/seed.json"
step "seeded in $(($(date +%s) - seed_start)) s"

"$PY" - "$WORK/periodic.json" <<'EOF'
import json, sys
e = json.load(open("events/10-periodic.json"))
e["resultToken"] = "TESTMODE"  # moto accepts PutEvaluations only in test mode
json.dump(e, open(sys.argv[1], "w"))
EOF

export AWS_ENDPOINT_URL="$ENDPOINT" AWS_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null \
  AWS_SHARED_CREDENTIALS_FILE=/dev/null
eval "$("$PY" scripts/assume_role.py --endpoint "$ENDPOINT" --account 111111111111)"
step "periodic sweep: trailkey replay --no-event-data-stores --call-counts"
/usr/bin/time -f 'time: wall=%e s user=%U s sys=%S s maxrss=%M KB' -o "$WORK/time.txt" \
  "$TRAILKEY" replay --no-event-data-stores --call-counts "$WORK/periodic.json" \
  >"$WORK/evals.json" 2>"$WORK/stderr.txt" \
  || [ $? -eq 1 ]  # 1: some evaluations are NON_COMPLIANT (the seeded broken keys), as intended

"$PY" - "$WORK" "$N" <<'EOF'
import collections, json, math, re, sys
work, n = sys.argv[1], int(sys.argv[2])
evals = json.load(open(f"{work}/evals.json"))
calls = next(json.loads(l) for l in open(f"{work}/stderr.txt") if l.startswith("{"))["aws_calls"]
t = dict(re.findall(r"(\w+)=([\d.]+)", open(f"{work}/time.txt").read().split("time:")[-1]))
by = collections.Counter((e["ComplianceResourceType"], e["ComplianceType"]) for e in evals)
floor = {"cloudtrail:DescribeTrails": 1, "config:PutEvaluations": math.ceil(len(evals) / 100),
         "kms:DescribeKey": n, "kms:GetKeyPolicy": n}
wall, cpu = float(t["wall"]), float(t["user"]) + float(t["sys"])
print(f"| trails / keys | {n} / {n} |")
print(f"| evaluations put | {len(evals)} ({', '.join(f'{k[0]} {k[1]}: {v}' for k, v in sorted(by.items()))}) |")
print(f"| AWS calls | {', '.join(f'{k} {v}' for k, v in calls.items())} |")
print(f"| floor | {', '.join(f'{k} {v}' for k, v in floor.items())} — {'equal' if calls == floor else 'DIFFERENT'} |")
print(f"| wall time | {wall:.2f} s |")
print(f"| trailkey CPU (user + sys) | {cpu:.2f} s ({100 * cpu / wall:.0f} % of wall) |")
print(f"| peak RSS | {int(t['maxrss']) / 1024:.1f} MB |")
sys.exit(0 if calls == floor and len(evals) == 2 * n else 1)
EOF
