#!/usr/bin/env bash
# Makes LocalStack answer on $FERRY_TEST_LOCALSTACK (default
# http://127.0.0.1:4566). A LocalStack that already answers is reused as is.
# Otherwise LocalStack 4.14.0 (the last open-source release) is installed with
# pip and uv into .venv/localstack, with its dependencies pinned by
# localstack-constraints.txt, and its runtime is started directly on the host
# (no container), bound to loopback, its pid recorded in
# .ferry/test-env/localstack.pid so that teardown.sh stops it again. DynamoDB
# Local, which LocalStack's DynamoDB runs on, is provisioned from Maven Central
# (provision-dynamodb-local.sh) and warmed up before this script returns.
#
# Environment:
#   FERRY_TEST_LOCALSTACK           endpoint             (default http://127.0.0.1:4566)
#   FERRY_LOCALSTACK_PYTHON         Python >= 3.12 to build the venv with (default: found)
#   FERRY_LOCALSTACK_START_TIMEOUT  seconds to wait      (default 120)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

LOCALSTACK_VERSION=4.14.0
UV_VERSION=0.13.9
SERVICES="stepfunctions,sqs,s3,iam,sts,cloudformation,ssm,logs,dynamodb,events,lambda,kms,secretsmanager,sns,scheduler"
timeout_s="${FERRY_LOCALSTACK_START_TIMEOUT:-120}"
venv="$FERRY_REPO_ROOT/.venv/localstack"
constraints="$FERRY_REPO_ROOT/test/env/localstack-constraints.txt"
fs_root="$FERRY_REPO_ROOT/.localstack/filesystem"
log_file="$FERRY_TEST_STATE_DIR/localstack.log"
pid_file="$FERRY_TEST_STATE_DIR/localstack.pid"
health_url="$FERRY_TEST_LOCALSTACK/_localstack/health"

hostport="${FERRY_TEST_LOCALSTACK#*://}"
hostport="${hostport%%/*}"
[[ "$hostport" =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+:[0-9]+$ ]] ||
  die "FERRY_TEST_LOCALSTACK must be http://127.x.y.z:PORT (loopback only), got '$FERRY_TEST_LOCALSTACK'"

healthy() { curl -sf -m 2 "$health_url" >/dev/null 2>&1; }

# A DynamoDB call, unsigned: LocalStack reads only the region and account
# from the Authorization header.
dynamodb_list_tables() {
  curl -sf -m "$1" -X POST "$FERRY_TEST_LOCALSTACK/" \
    -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
    -d '{}' >/dev/null
}

command -v curl >/dev/null || apt_install curl ca-certificates

if healthy; then
  version="$(curl -s -m 2 "$health_url" | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p')"
  log "LocalStack ${version:-?} already answers on $FERRY_TEST_LOCALSTACK: reusing it"
  [[ "$version" == "$LOCALSTACK_VERSION" ]] ||
    log "warning: Ferry's tests target LocalStack $LOCALSTACK_VERSION, this one is ${version:-unknown}"
  exit 0
fi
if pid_alive localstack; then
  die "LocalStack (pid $(cat "$pid_file")) is running but $health_url does not answer; see $log_file or run test/env/teardown.sh localstack"
fi
rm -f "$pid_file"

# LocalStack 4.14 uses Python 3.12 syntax (PEP 695 generics).
python_ok() { "$1" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; }
find_python() {
  local candidate pyenv_root
  pyenv_root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
  for candidate in "${FERRY_LOCALSTACK_PYTHON:-}" python3.13 python3.12 \
    $(printf '%s\n' "$pyenv_root"/versions/3.1[23]*/bin/python3 | sort -rV) python3; do
    [[ -n "$candidate" ]] || continue
    if command -v "$candidate" >/dev/null && python_ok "$candidate"; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

install_stamp="$( { echo "$LOCALSTACK_VERSION $UV_VERSION"; sha256sum "$constraints" | cut -d' ' -f1; } | sha256sum | cut -c1-16)"
if [[ ! -x "$venv/bin/python" || "$(cat "$venv/.ferry-stamp" 2>/dev/null)" != "$install_stamp" ]]; then
  python="$(find_python)" ||
    die "LocalStack $LOCALSTACK_VERSION needs Python 3.12 or later and none was found (tried python3.13, python3.12, pyenv versions, python3); set FERRY_LOCALSTACK_PYTHON=/path/to/python3.12+"
  log "installing LocalStack $LOCALSTACK_VERSION into $venv with $python ($("$python" --version))"
  started="$(now_s)"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  # uv resolves and installs these ~110 packages in a fraction of pip's time;
  # byte-compiling up front keeps LocalStack's first start fast.
  "$venv/bin/pip" install -q --no-input --disable-pip-version-check "uv==$UV_VERSION" >&2 ||
    die "pip could not install uv $UV_VERSION (output above)"
  "$venv/bin/uv" pip install -q --python "$venv/bin/python" --compile-bytecode \
    -c "$constraints" "localstack-core[runtime]==$LOCALSTACK_VERSION" >&2 ||
    die "could not install LocalStack $LOCALSTACK_VERSION (output above)"
  echo "$install_stamp" >"$venv/.ferry-stamp"
  log "LocalStack installed in $(elapsed_s "$started")s"
fi

"$FERRY_REPO_ROOT/test/env/provision-dynamodb-local.sh" "$fs_root/var/lib/localstack/lib"

log "starting LocalStack $LOCALSTACK_VERSION on $FERRY_TEST_LOCALSTACK (log: $log_file)"
started="$(now_s)"
mkdir -p "$fs_root"
# OVERRIDE_IN_DOCKER=0: LocalStack guesses it runs in a container when the
# host has Docker cgroups, and would then use /var/lib/localstack.
# LOCALSTACK_HOST + SQS_ENDPOINT_STRATEGY=path: queue URLs point at this
# endpoint (http://127.0.0.1:4566/queue/...), not at a DNS name that needs
# public DNS. DNS_ADDRESS=0, SKIP_SSL_CERT_DOWNLOAD, DISABLE_EVENTS: no calls
# to the internet.
(
  cd "$FERRY_REPO_ROOT/.localstack"
  exec env \
    GATEWAY_LISTEN="$hostport" \
    LOCALSTACK_HOST="$hostport" \
    SERVICES="$SERVICES" \
    SQS_ENDPOINT_STRATEGY=path \
    DYNAMODB_IN_MEMORY=1 \
    OVERRIDE_IN_DOCKER=0 \
    FILESYSTEM_ROOT="$fs_root" \
    DNS_ADDRESS=0 \
    SKIP_SSL_CERT_DOWNLOAD=1 \
    DISABLE_EVENTS=1 \
    PERSISTENCE=0 \
    setsid "$venv/bin/python" -m localstack.runtime.main
) >"$log_file" 2>&1 </dev/null &
echo $! >"$pid_file"

fail() {
  tail -n 60 "$log_file" >&2 || true
  "$FERRY_REPO_ROOT/test/env/teardown.sh" localstack || true
  die "$1 (log above, full log in $log_file)"
}

deadline=$((SECONDS + timeout_s))
until healthy; do
  pid_alive localstack || fail "LocalStack exited during startup"
  ((SECONDS < deadline)) || fail "LocalStack did not answer $health_url within ${timeout_s}s"
  sleep 0.3
done
log "LocalStack ready in $(elapsed_s "$started")s (pid $(cat "$pid_file"))"

# DynamoDB Local (a JVM) starts on the first DynamoDB call; start it now so
# that tests do not pay for it.
warm="$(now_s)"
remaining=$((deadline - SECONDS))
((remaining > 15)) || remaining=15
dynamodb_list_tables "$remaining" || fail "LocalStack's DynamoDB did not answer"
log "LocalStack DynamoDB ready in $(elapsed_s "$warm")s"
