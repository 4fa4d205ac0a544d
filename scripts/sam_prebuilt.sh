#!/usr/bin/env bash
# `make sam-prebuilt` (in `make test`): the deployable stack for builders without the aarch64
# target in rustup, where `sam build` (BuildMethod rust-cargolambda) cannot run cargo-lambda.
# `make sam-build` then stages the zip from `make lambda-zip` as .aws-sam/build/template.yaml
# (scripts/prebuilt_template.py); this checks that path for template.yaml and
# deploy/org-central.yaml (which nests template.yaml):
#   1. the generated templates pass cfn-lint and `sam validate --lint`;
#   2. `sam package` (the upload half of `sam deploy`) against moto's S3 uploads exactly the zip we
#      built, and the packaged templates point at it (the org template's nested application too).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
export VENV_DIR="${VENV_DIR:-$ROOT/.venv}"
PY="$VENV_DIR/moto/bin/python"
DEPLOY_BIN="$VENV_DIR/deploy/bin"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
ZIP="$TARGET_DIR/lambda/trailkey-rule/bootstrap.zip"
BUCKET=trailkey-artifacts
step() { echo "sam-prebuilt: $*" >&2; }
fail() { step "FAIL: $*"; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/trailkey-sam.XXXXXX")"
MOTO_PID=""
cleanup() {
  local rc=$?
  [[ -n "$MOTO_PID" ]] && scripts/moto.sh stop "$MOTO_PID" || true
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[[ -f "$ZIP" ]] || fail "$ZIP missing (make lambda-zip)"
export PATH="$DEPLOY_BIN:$PATH" SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1

for t in template.yaml deploy/org-central.yaml; do
  name="$(basename "$t" .yaml)"
  out="$WORK/$name/template.yaml"
  python3 scripts/prebuilt_template.py --template "$t" --zip "$ZIP" --out "$out" >/dev/null
  grep -q 'BuildMethod' "$out" && fail "$out still has a BuildMethod"
  cfn-lint "$out" || fail "cfn-lint: $out (from $t)"
  sam validate --lint --template-file "$out" >/dev/null || fail "sam validate --lint: $out (from $t)"
  step "$t: prebuilt template passes cfn-lint and sam validate --lint"
done

step "starting moto (S3 for sam package)"
export MOTO_LOG="$WORK/moto.log"
read -r MOTO_PORT MOTO_PID <<<"$(scripts/moto.sh start)"
export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" AWS_ACCESS_KEY_ID=testing \
  AWS_SECRET_ACCESS_KEY=testing AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
"$PY" -c 'import boto3; boto3.client("s3").create_bucket(Bucket="'"$BUCKET"'")'

for name in template org-central; do
  sam package --template-file "$WORK/$name/template.yaml" --s3-bucket "$BUCKET" \
    --output-template-file "$WORK/$name.packaged.yaml" >"$WORK/$name.package.log" 2>&1 \
    || { cat "$WORK/$name.package.log" >&2; fail "sam package $name"; }
done

# The packaged function code is our zip, byte for byte, in both stacks.
"$PY" - "$WORK" "$BUCKET" "$ZIP" <<'PY' || fail "the packaged templates do not deploy the built zip"
import hashlib, re, sys, boto3
work, bucket, zip_path = sys.argv[1:]
s3 = boto3.client("s3")
want = hashlib.sha256(open(zip_path, "rb").read()).hexdigest()

def code_object(text: str, what: str) -> str:
    uris = re.findall(r"^\s+CodeUri:\s+(\S+)\s*$", text, re.M)
    assert len(uris) == 1, f"{what}: want one CodeUri, got {uris}"
    m = re.fullmatch(rf"s3://{bucket}/(\S+)", uris[0])
    assert m, f"{what}: CodeUri {uris[0]} is not in s3://{bucket}"
    return m.group(1)

def check(key: str, what: str) -> None:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    got = hashlib.sha256(body).hexdigest()
    assert got == want, f"{what}: s3://{bucket}/{key} is not the built zip ({got} != {want})"

single = open(f"{work}/template.packaged.yaml").read()
check(code_object(single, "template.yaml"), "template.yaml")

org = open(f"{work}/org-central.packaged.yaml").read()
loc = re.findall(r"^\s+Location:\s+(\S+)\s*$", org, re.M)
assert len(loc) == 1, f"org-central: want one Location, got {loc}"
m = re.search(rf"{bucket}/([0-9a-f]+\.template)$", loc[0])
assert m, f"org-central: nested Location {loc[0]} was not uploaded to {bucket}"
nested = s3.get_object(Bucket=bucket, Key=m.group(1))["Body"].read().decode()
check(code_object(nested, "org-central's nested template"), "org-central's nested template")
print("ok")
PY
step "ok: sam package uploads the built zip for template.yaml and deploy/org-central.yaml"
