#!/usr/bin/env bash
# `npm test`: Ferry's one test command, for developers and CI alike.
#
#   1. packages       the Debian packages the environment needs, installed
#                     when missing (test/env/ensure-packages.sh)
#   2. build          the CLI's JavaScript (dist/cli/, npm run build:cli), so
#                     every test that starts `ferry` runs what users run
#   3. typecheck      tsc --noEmit over every workspace (and ferry ui's browser app)
#   4. lint           biome check (files git ignores are skipped)
#   5. unit           vitest project "unit"
#   6. environment    a Docker Engine, the test image, the agent's artifacts
#                     (executables, packages, image) and LocalStack, reusing
#                     any that already run or are up to date, and the Python
#                     client's venv (test/env/*.sh)
#   7. integration    vitest project "integration" against them
#
# Run it after `npm install` (or `npm ci`): it runs on the Node.js that the
# `node` dependency installs into node_modules/.bin, whatever the system's is.
#
# Arguments are vitest filters applied to both projects, e.g.
# `npm test -- test/environment.test.ts`.
#
# Every stage runs even if an earlier one failed (integration needs the
# environment), the script exits non-zero if any failed, and its last line is
# the total: "tests: N passed, N failed, N skipped", where a test file that
# failed to load or crashed counts as a failure. Services this run
# started are stopped on exit; FERRY_TEST_KEEP_ENV=1 leaves them running for
# the next run.
# shellcheck disable=SC2317 # functions below are run through stage()
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source test/env/common.sh

# The pinned Node.js first, also when this script is run without npm.
export PATH="$FERRY_REPO_ROOT/node_modules/.bin:$PATH"
if [[ ! -x node_modules/.bin/node ]]; then
  echo "node_modules/.bin/node is missing: run \`npm install\` (or \`npm ci\`) first" >&2
  exit 1
fi

# Tests talk to LocalStack only, with its dummy credentials, never to AWS.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL="$FERRY_TEST_LOCALSTACK"
unset AWS_PROFILE AWS_SESSION_TOKEN

report_dir="$FERRY_TEST_STATE_DIR/reports"
rm -rf "$report_dir"
mkdir -p "$report_dir"

stages=()
failed=0
started_services=()

teardown() {
  if ((${#started_services[@]})) && [[ "${FERRY_TEST_KEEP_ENV:-0}" != 1 ]]; then
    bash test/env/teardown.sh "${started_services[@]}" || true
  fi
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# stage NAME COMMAND...: runs a stage, records its outcome and duration.
stage() {
  local name="$1" started
  shift
  printf '\n==> %s: %s\n' "$name" "$*"
  started="$(now_s)"
  if "$@"; then
    stages+=("ok      $name ($(elapsed_s "$started")s)")
  else
    stages+=("FAILED  $name ($(elapsed_s "$started")s)")
    failed=1
    return 1
  fi
}

# vitest_project NAME ARGS...: runs one vitest project; its JSON report and
# exit code go to $report_dir for the totals.
vitest_project() {
  local project="$1" rc=0
  shift
  npx vitest run --project "$project" --reporter=default --reporter=json \
    --outputFile.json="$report_dir/$project.json" "$@" || rc=$?
  echo "$rc" >"$report_dir/$project.rc"
  return "$rc"
}

# ensure TARGET PIDNAME SCRIPT: runs an ensure script and remembers TARGET
# for teardown if the script started it (its pid file is new).
ensure() {
  local target="$1" pid_name="$2" script="$3" had=0 rc=0
  pid_alive "$pid_name" && had=1
  bash "$script" || rc=$?
  if ((!had)) && pid_alive "$pid_name"; then started_services+=("$target"); fi
  return "$rc"
}

ensure_environment() {
  ensure docker dockerd test/env/ensure-docker.sh &&
    bash test/env/build-test-image.sh &&
    bash test/env/build-agent-artifacts.sh &&
    ensure localstack localstack test/env/ensure-localstack.sh &&
    bash test/env/ensure-python-client.sh >/dev/null
}

printf '==> node %s (%s)\n' "$(node --version)" "$(command -v node)"
stage packages bash test/env/ensure-packages.sh || true
stage build node scripts/build.mjs cli || true
stage typecheck npx tsc -p tsconfig.json --noEmit || true
stage typecheck-ui npx tsc -p cli/src/ui/app/tsconfig.json --noEmit || true
stage lint npx biome check --vcs-enabled=true --vcs-client-kind=git --vcs-use-ignore-file=true . || true
stage unit vitest_project unit --passWithNoTests "$@" || true
if stage environment ensure_environment; then
  stage integration vitest_project integration "$@" || true
else
  stages+=("FAILED  integration (not run: the test environment is missing)")
fi

# Totals over both vitest projects, from their JSON reports and exit codes.
mapfile -t totals < <(node test/support/report-totals.mjs "$report_dir" unit integration)
read -r passed failed_tests skipped <<<"${totals[0]:-0 1 0}"

# Stop what this run started before the summary, so the totals close the output.
teardown
started_services=()

printf '\n==> summary\n'
printf '  %s\n' "${stages[@]}"
((${#totals[@]} > 1)) && printf '  failed: %s\n' "${totals[@]:1}"
printf 'tests: %d passed, %d failed, %d skipped\n' "$passed" "$failed_tests" "$skipped"
exit "$failed"
