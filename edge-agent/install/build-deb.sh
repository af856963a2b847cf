#!/usr/bin/env bash
# Builds the ferry-agent Debian package with dpkg-deb (scripts/build.mjs runs it):
#
#   build-deb.sh BINARY ARCH VERSION OUT.deb      ARCH: amd64 | arm64
#
# Contents: /usr/bin/ferry-agent, the systemd unit, setup-host.sh (which the
# postinst runs to create the users and /etc/ferry, as install.sh does), the
# example config and INSTALL.md. The unit is enabled on install but started
# only on upgrade: a fresh config needs its queues and manifests first.
set -euo pipefail

binary="${1:?usage: build-deb.sh BINARY ARCH VERSION OUT.deb}"
arch="${2:?ARCH (amd64 or arm64) is missing}"
version="${3:?VERSION is missing}"
out="${4:?OUT.deb is missing}"
case "$arch" in amd64 | arm64) ;; *) echo "build-deb.sh: ARCH must be amd64 or arm64, got $arch" >&2 && exit 2 ;; esac
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
pkg="$tmp/ferry-agent"
install -D -m 0755 "$binary" "$pkg/usr/bin/ferry-agent"
install -D -m 0644 "$here/ferry-agent.service" "$pkg/usr/lib/systemd/system/ferry-agent.service"
# Not enabled: the opt-in way to run without the docker group (see INSTALL.md).
install -D -m 0644 "$here/ferry-engine-proxy.service" "$pkg/usr/lib/systemd/system/ferry-engine-proxy.service"
install -D -m 0755 "$here/setup-host.sh" "$pkg/usr/lib/ferry-agent/setup-host.sh"
install -D -m 0644 "$here/agent.example.yaml" "$pkg/usr/share/ferry-agent/agent.example.yaml"
install -D -m 0644 "$here/INSTALL.md" "$pkg/usr/share/doc/ferry-agent/INSTALL.md"
cat >"$pkg/usr/share/doc/ferry-agent/copyright" <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: ferry
Comment: ferry-agent embeds the official Node.js binary (MIT license, https://nodejs.org/)
 and the npm packages it bundles, each under its own license.
EOF

mkdir -p "$pkg/DEBIAN"
installed_kib="$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)"
# No Depends: the executable needs only glibc and libstdc++ (both required on
# Debian); setpriv is in util-linux, which is essential.
cat >"$pkg/DEBIAN/control" <<EOF
Package: ferry-agent
Version: $version
Architecture: $arch
Maintainer: Ferry maintainers <ferry@localhost>
Installed-Size: $installed_kib
Section: admin
Priority: optional
Recommends: docker.io | podman
Description: Ferry edge agent
 Long-polls Ferry's SQS queues and runs workflow steps in Docker, podman or
 as plain processes, answering AWS Step Functions. A self-contained
 executable (Node.js included) run by the ferry-agent systemd unit.
EOF

cat >"$pkg/DEBIAN/postinst" <<'EOF'
#!/bin/sh
# DPKG_ROOT is set when dpkg installs into another root without chroot.
set -e
if [ "$1" = configure ]; then
  "$DPKG_ROOT/usr/lib/ferry-agent/setup-host.sh" --example "$DPKG_ROOT/usr/share/ferry-agent/agent.example.yaml"
  if [ -z "$DPKG_ROOT" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable ferry-agent.service
    if [ -n "$2" ]; then
      systemctl try-restart ferry-agent.service
    else
      echo "ferry-agent: edit /etc/ferry/agent.yaml (credentials in /etc/ferry/agent.env), then: systemctl start ferry-agent"
    fi
  fi
fi
EOF
cat >"$pkg/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -z "$DPKG_ROOT" ] && [ -d /run/systemd/system ]; then
  systemctl disable --now ferry-agent.service || true
fi
EOF
cat >"$pkg/DEBIAN/postrm" <<'EOF'
#!/bin/sh
# The users stay (files they own may remain); purge removes the config and state.
set -e
if [ "$1" = purge ]; then
  rm -f "$DPKG_ROOT/etc/ferry/agent.yaml" "$DPKG_ROOT/etc/ferry/agent.env"
  rmdir "$DPKG_ROOT/etc/ferry" 2>/dev/null || true
  rm -rf "$DPKG_ROOT/var/lib/ferry"
fi
if [ -z "$DPKG_ROOT" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
EOF
chmod 0755 "$pkg/DEBIAN/postinst" "$pkg/DEBIAN/prerm" "$pkg/DEBIAN/postrm"

mkdir -p "$(dirname "$out")"
# Fixed owners. xz at its fastest level: a quarter of the ~120 MiB executable at a fifth of the default level's CPU time.
dpkg-deb --root-owner-group -Zxz -z1 --build "$pkg" "$out" >/dev/null
