#!/usr/bin/env bash
# `make demo`: the checker on the documented scenarios, no AWS account needed.
# Builds trailkey, checks each scenario's key policy and prints one deterministic table.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --bin trailkey
bin="${CARGO_TARGET_DIR:-target}/debug/trailkey"
K=arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab
T=arn:aws:cloudtrail:us-east-1:111111111111:trail/management-events
E=arn:aws:cloudtrail:us-east-1:111111111111:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE
R=arn:aws:iam::111111111111:role/LogReader
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
row() { # name policy args...
  local name=$1 policy=$2; shift 2
  local code=0
  "$bin" check --policy "$policy" --key-arn "$K" --format json "$@" >"$tmp/out.json" 2>"$tmp/err" || code=$?
  if [ "$code" -ge 2 ]; then
    printf '%-34s %-14s %s\n' "$name" "ERROR" "$(head -c 120 "$tmp/err")"; return
  fi
  python3 - "$name" "$tmp/out.json" <<'PY'
import json, sys
name, path = sys.argv[1], sys.argv[2]
r = json.load(open(path))
first = r["findings"][0] if r["findings"] else None
finding = f'{first["id"]} ({first["severity"]})' if first else "-"
fix = (first.get("fix") or {}).get("Sid", "-") if first else "-"
print(f'{name:<34} {r["compliance"]:<14} {finding:<34} {fix}')
PY
}
printf '%-34s %-14s %-34s %s\n' SCENARIO COMPLIANCE "FIRST FINDING" "FIX (statement to add)"
row "compliant trail key" events/policies/k1-compliant.json --trail-arn "$T" --reader "$R"
row "encrypt names another trail" events/policies/k1-wrong-trail.json --trail-arn "$T" --reader "$R"
row "no aws:SourceArn" events/policies/k1-no-source.json --trail-arn "$T" --reader "$R"
row "key disabled" events/policies/k1-compliant.json --trail-arn "$T" --key-state Disabled
row "multi-account 111/222" events/policies/k1-cross-account.json --trail-arn "$T" --trail-arn arn:aws:cloudtrail:us-east-1:222222222222:trail/partner-trail --allowed-account 111111111111
row "event data store" events/policies/k1-event-data-store.json --event-data-store-arn "$E"
row "S3 Bucket Key" events/policies/k1-compliant.json --trail-arn "$T" --bucket-key
echo
echo "fixed policy for 'encrypt names another trail' (trailkey fix), then checked again:"
"$bin" fix --policy events/policies/k1-wrong-trail.json --key-arn "$K" --trail-arn "$T" >"$tmp/fixed.json"
row "  after trailkey fix" "$tmp/fixed.json" --trail-arn "$T" --reader "$R"
