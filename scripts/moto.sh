#!/usr/bin/env bash
# Start / stop a local moto server (local AWS) on a free loopback port.
#
#   scripts/moto.sh start        -> prints "PORT PID" once http://127.0.0.1:PORT/moto-api/ answers
#   scripts/moto.sh stop PID     -> stops that server (TERM, then KILL after ~5s)
#
# The server binary is $TRAILKEY_MOTO_SERVER (exported by mk/local.mk), else
# ${VENV_DIR:-<repo>/.venv}/moto/bin/moto_server (run `make moto-venv` first).
# Its output goes to $MOTO_LOG (default: a temp file, path printed on failure).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MOTO_SERVER="${TRAILKEY_MOTO_SERVER:-${VENV_DIR:-$ROOT/.venv}/moto/bin/moto_server}"
PYTHON="${PYTHON:-python3}"
READY_TIMEOUT="${MOTO_READY_TIMEOUT:-15}"   # seconds to wait for /moto-api/
START_ATTEMPTS=3                             # new port each time, in case the port was taken

die() { echo "moto.sh: $*" >&2; exit 1; }

free_port() {
  "$PYTHON" - <<'EOF'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

# wait_ready PORT PID: 0 once /moto-api/ answers, 1 if the process died or time ran out.
wait_ready() {
  "$PYTHON" - "$1" "$2" "$READY_TIMEOUT" <<'EOF'
import os, sys, time, urllib.request
port, pid, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + timeout
url = f"http://127.0.0.1:{port}/moto-api/"
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(1)  # the server exited (e.g. port already taken)
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            if r.status < 500:
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.1)
sys.exit(1)
EOF
}

stop_pid() {
  local pid="$1" i
  [[ "$pid" =~ ^[0-9]+$ ]] || die "stop: not a PID: '$pid'"
  kill -TERM "$pid" 2>/dev/null || return 0   # already gone
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

start() {
  [[ -x "$MOTO_SERVER" ]] || die "moto_server not found at $MOTO_SERVER (run: make moto-venv)"
  local log="${MOTO_LOG:-$(mktemp "${TMPDIR:-/tmp}/trailkey-moto.XXXXXX.log")}"
  local attempt port pid
  for attempt in $(seq "$START_ATTEMPTS"); do
    port="$(free_port)"
    # Output to the log (never to our stdout: `$(moto.sh start)` would wait for it to close);
    # own session, so the caller's Ctrl-C reaches it only through `moto.sh stop`.
    setsid "$MOTO_SERVER" -H 127.0.0.1 -p "$port" >>"$log" 2>&1 </dev/null &
    pid=$!
    if wait_ready "$port" "$pid"; then
      echo "$port $pid"
      return 0
    fi
    stop_pid "$pid"
    echo "moto.sh: moto did not answer on port $port (attempt $attempt/$START_ATTEMPTS)" >&2
  done
  echo "moto.sh: last lines of $log:" >&2
  tail -n 20 "$log" >&2 || true
  exit 1
}

case "${1:-}" in
  start) start ;;
  stop)  [[ $# -eq 2 ]] || die "usage: $0 stop PID"; stop_pid "$2" ;;
  *)     echo "usage: $0 start | stop PID" >&2; exit 2 ;;
esac
