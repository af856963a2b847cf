#!/usr/bin/env bash
# Stops what ensure-docker.sh and ensure-localstack.sh started, and nothing
# else: a service counts as ours only if its pid is recorded in
# .ferry/test-env/<name>.pid. An engine or LocalStack that was already running
# when the ensure scripts ran is left alone.
#
# Usage: test/env/teardown.sh [docker] [localstack]   (default: both)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# stop_recorded NAME: SIGTERM to the recorded pid's process group (both
# services are started with setsid, so the group is the service and its
# children: containerd, DynamoDB Local), then SIGKILL after a grace period.
stop_recorded() {
  local name="$1" grace_s="$2" pid_file="$FERRY_TEST_STATE_DIR/$1.pid" pid
  if ! pid_alive "$name"; then
    rm -f "$pid_file"
    return 0
  fi
  pid="$(cat "$pid_file")"
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + grace_s))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.3; done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not stop within ${grace_s}s: SIGKILL to process group $pid"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  # Children that outlived their parent (e.g. DynamoDB Local's JVM) share its
  # process group; pgrep -g matches that group id only.
  local leftovers
  leftovers="$(pgrep -g "$pid" || true)"
  if [[ -n "$leftovers" ]]; then
    # shellcheck disable=SC2086 # one pid per word
    kill -TERM $leftovers 2>/dev/null || true
  fi
  rm -f "$pid_file"
}

stop_localstack=0 stop_docker=0
(($#)) || set -- localstack docker
for target in "$@"; do
  case "$target" in
    localstack) stop_localstack=1 ;;
    docker) stop_docker=1 ;;
    *) die "unknown target '$target' (expected docker or localstack)" ;;
  esac
done
# LocalStack first: it may have containers of its own on the engine.
((stop_localstack)) && stop_recorded localstack 30
((stop_docker)) && stop_recorded dockerd 45
exit 0
