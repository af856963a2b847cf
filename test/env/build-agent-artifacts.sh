#!/usr/bin/env bash
# Builds the agent artifacts the artifact tests install and run (scripts/build.mjs):
# the bundle, both executables, this machine's release tarball, both .debs and
# the ferry-agent image. Idempotent: what is up to date is not rebuilt, so the
# test calls it too.
#
# Requires `npm install` and a running engine (test/env/ensure-docker.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

case "$(uname -m)" in
x86_64 | amd64) arch=x64 ;;
aarch64 | arm64) arch=arm64 ;;
*) die "the agent is built for x86_64 and aarch64 hosts, not $(uname -m)" ;;
esac
cd "$FERRY_REPO_ROOT"
[[ -x node_modules/.bin/node ]] || die "node_modules/.bin/node is missing: run \`npm install\` first"
node_modules/.bin/node scripts/build.mjs agent-bundle agent-sea-linux-x64 agent-sea-linux-arm64 \
  "agent-release-linux-$arch" agent-deb-amd64 agent-deb-arm64 agent-image
