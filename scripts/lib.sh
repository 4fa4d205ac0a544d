# Shared by scripts/lambda_local.sh and scripts/bench_lambda.sh (sourced, not run). Expects PY
# (the moto venv's python) and WORK (a scratch directory) to be set; uses scripts/moto.sh.

# start_seeded_moto: moto on a free loopback port with one key and the trail `management-events`
# (scripts/seed_scale.py). Sets MOTO_PORT, MOTO_PID, ENDPOINT, KEY_ARN and KEY_ID; the caller
# stops moto (`scripts/moto.sh stop "$MOTO_PID"`) in its cleanup.
start_seeded_moto() {
  export MOTO_LOG="$WORK/moto.log"
  read -r MOTO_PORT MOTO_PID <<<"$(scripts/moto.sh start)"
  ENDPOINT="http://127.0.0.1:$MOTO_PORT"
  "$PY" scripts/seed_scale.py --endpoint "$ENDPOINT" --keys 1 --trails 1 \
    --names management-events >"$WORK/seed.json"
  KEY_ARN="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["keys"][0]["arn"])' \
    "$WORK/seed.json")"
  KEY_ID="${KEY_ARN##*/}"
}

# with_seeded_key EVENT OUT: the sample event with its fixed key K1 (ARN and id) replaced by the
# seeded KEY_ARN / KEY_ID (moto picks key ids at random).
with_seeded_key() {
  local k1_id="1234abcd-12ab-34cd-56ef-1234567890ab"
  local k1_arn="arn:aws:kms:us-east-1:111111111111:key/$k1_id"
  sed "s#$k1_arn#$KEY_ARN#g; s#$k1_id#$KEY_ID#g" "$1" >"$2"
}
