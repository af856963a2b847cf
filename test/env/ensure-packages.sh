#!/usr/bin/env bash
# Installs the Debian packages the test environment needs, when any is missing:
# one `apt-get update`, then one `apt-get install` of the missing ones. Does
# nothing (and needs no root) when all are present.
#
#   docker.io                       the engine for container tests
#   podman, busybox-static          the podman runtime's tests (a private podman
#                                   service; an image made from static busybox)
#   uidmap, slirp4netns             rootless podman for an unprivileged agent user
#                                   (test/security/rootless-podman.test.ts)
#   openjdk-17-jdk-headless, maven  DynamoDB Local, which LocalStack's DynamoDB runs on
#   curl, ca-certificates           health checks and downloads
#   git                             lint reads .gitignore through git
#   chromium                        ferry ui's real-browser tests (driven by playwright-core)
#   systemd                         systemd-analyze verify checks the agent's unit
#   qemu-user-static, lib{c6,stdc++6,gcc-s1}-<other arch>-cross
#                                   the agent executable of the other architecture
#                                   (arm64 on amd64, amd64 on arm64), run under the
#                                   emulator with the libraries it loads
#                                   (/usr/<triplet>/lib)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

packages=(docker.io podman busybox-static uidmap slirp4netns openjdk-17-jdk-headless maven curl ca-certificates git
  chromium systemd qemu-user-static)
case "$(uname -m)" in
aarch64 | arm64) other=amd64 ;;
*) other=arm64 ;;
esac
packages+=("libc6-$other-cross" "libstdc++6-$other-cross" "libgcc-s1-$other-cross")

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  log "not a Debian-based system: install these yourself if missing: ${packages[*]}"
  exit 0
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' || missing+=("$package")
done
if ((${#missing[@]} == 0)); then
  log "Debian packages present: ${packages[*]}"
  exit 0
fi
log "apt-get update (missing: ${missing[*]})"
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
apt_install "${missing[@]}"
