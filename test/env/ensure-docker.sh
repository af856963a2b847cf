#!/usr/bin/env bash
# Makes a Docker Engine answer on $FERRY_TEST_DOCKER_SOCKET (default
# /var/run/docker.sock). A running engine is reused as is; otherwise Debian's
# docker.io is installed if dockerd is missing, and dockerd is started in the
# background with no default bridge and no iptables rules (test containers run
# with --network none), its pid recorded in .ferry/test-env/dockerd.pid so that
# teardown.sh stops it again.
#
# Environment:
#   FERRY_TEST_DOCKER_SOCKET     unix socket path      (default /var/run/docker.sock)
#   FERRY_DOCKERD_START_TIMEOUT  seconds to wait       (default 60)
#   FERRY_DOCKERD_ARGS           extra dockerd flags   (default none)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

timeout_s="${FERRY_DOCKERD_START_TIMEOUT:-60}"
log_file="$FERRY_TEST_STATE_DIR/dockerd.log"
pid_file="$FERRY_TEST_STATE_DIR/dockerd.pid"

engine_up() { timeout 10 docker info >/dev/null 2>&1; }

if command -v docker >/dev/null && engine_up; then
  log "Docker engine already answers on $FERRY_TEST_DOCKER_SOCKET: reusing it ($(docker version --format '{{.Server.Version}}'))"
  exit 0
fi
if pid_alive dockerd; then
  die "dockerd (pid $(cat "$pid_file")) is running but does not answer on $FERRY_TEST_DOCKER_SOCKET; see $log_file or run test/env/teardown.sh"
fi
rm -f "$pid_file"

if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
  apt_install docker.io
fi

args=(--host "unix://$FERRY_TEST_DOCKER_SOCKET" --bridge=none --iptables=false --ip6tables=false)
if [[ "$FERRY_TEST_DOCKER_SOCKET" != /var/run/docker.sock ]]; then
  # A second engine beside the system one needs its own state directories.
  suffix="$(printf '%s' "$FERRY_TEST_DOCKER_SOCKET" | md5sum | cut -c1-8)"
  args+=(--data-root "/var/lib/docker-ferry-$suffix" --exec-root "/var/run/docker-ferry-$suffix"
    --pidfile "/var/run/docker-ferry-$suffix.pid")
fi
# shellcheck disable=SC2206 # word splitting of the extra flags is intended
args+=(${FERRY_DOCKERD_ARGS:-})

log "starting dockerd ${args[*]} (log: $log_file)"
started="$(now_s)"
# setsid: dockerd gets its own session, so it outlives this script and a
# Ctrl-C in the calling terminal; teardown.sh stops it by pid.
[[ "$(id -u)" -eq 0 ]] || die "starting dockerd needs root; start a Docker engine yourself or rerun as root"
setsid dockerd "${args[@]}" >"$log_file" 2>&1 </dev/null &
echo $! >"$pid_file"

deadline=$((SECONDS + timeout_s))
until engine_up; do
  if ! pid_alive dockerd; then
    tail -n 40 "$log_file" >&2 || true
    rm -f "$pid_file"
    die "dockerd exited during startup (log above, full log in $log_file)"
  fi
  if ((SECONDS >= deadline)); then
    tail -n 40 "$log_file" >&2 || true
    "$(dirname "${BASH_SOURCE[0]}")/teardown.sh" docker || true
    die "dockerd did not answer on $FERRY_TEST_DOCKER_SOCKET within ${timeout_s}s (log above)"
  fi
  sleep 0.5
done
log "dockerd $(docker version --format '{{.Server.Version}}') ready in $(elapsed_s "$started")s (pid $(cat "$pid_file"))"
