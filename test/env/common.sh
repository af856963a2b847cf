# shellcheck shell=bash
# Shared settings for the test environment scripts. Sourced, never executed.
#
# Everything a script starts is recorded in $FERRY_TEST_STATE_DIR/<name>.pid so
# that teardown.sh stops only what these scripts started, never an engine or a
# LocalStack that was already running.

FERRY_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
FERRY_TEST_STATE_DIR="${FERRY_TEST_STATE_DIR:-$FERRY_REPO_ROOT/.ferry/test-env}"
FERRY_TEST_LOCALSTACK="${FERRY_TEST_LOCALSTACK:-http://127.0.0.1:4566}"
FERRY_TEST_DOCKER_SOCKET="${FERRY_TEST_DOCKER_SOCKET:-/var/run/docker.sock}"
FERRY_TEST_IMAGE="${FERRY_TEST_IMAGE:-ferry-test/busybox:1}"
export FERRY_TEST_LOCALSTACK FERRY_TEST_DOCKER_SOCKET FERRY_TEST_IMAGE
export DOCKER_HOST="unix://$FERRY_TEST_DOCKER_SOCKET"

mkdir -p "$FERRY_TEST_STATE_DIR"

log() { printf '[test-env] %s\n' "$*" >&2; }
die() {
  printf '[test-env] ERROR: %s\n' "$*" >&2
  exit 1
}

# Seconds since the epoch with millisecond precision, for timings.
now_s() { date +%s.%N | cut -c1-14; }
elapsed_s() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

# pid_alive NAME: true if NAME.pid names a running process.
pid_alive() {
  local file="$FERRY_TEST_STATE_DIR/$1.pid" pid
  [[ -f "$file" ]] || return 1
  pid="$(cat "$file")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    die "'$*' needs root and sudo is not available"
  fi
}

apt_install() {
  log "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2
}
