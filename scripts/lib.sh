# Shared by the scripts (sourced, not run). start_seeded_moto and with_seeded_key expect PY (the
# moto venv's python) and WORK (a scratch directory) to be set; they use scripts/moto.sh.

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

# apt_install PACKAGE...: installs missing Debian packages, as root with apt-get (the package lists
# are refreshed once if the first try cannot find them); otherwise fails naming the packages.
# The output goes to ${APT_LOG:-/tmp/trailkey-apt.log}, shown on failure.
apt_install() {
  local log="${APT_LOG:-${TMPDIR:-/tmp}/trailkey-apt.log}"
  if ! command -v apt-get >/dev/null || [[ "$(id -u)" != 0 ]]; then
    echo "needs the Debian packages $* (not root, or no apt-get): install them, then run again" >&2
    return 1
  fi
  echo "installing Debian packages: $*" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q "$@" >"$log" 2>&1; then
    if ! { apt-get update -q && apt-get install -y -q "$@"; } >>"$log" 2>&1; then
      tail -n 20 "$log" >&2
      echo "apt-get install $* failed (log: $log)" >&2
      return 1
    fi
  fi
}
