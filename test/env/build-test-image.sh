#!/usr/bin/env bash
# Builds the test image ferry-test/busybox:1 locally, without pulling anything:
# a root filesystem holding Debian's statically linked busybox and links for
# its applets, imported with `docker import`. Idempotent: the image carries a
# label with the hash of its content and is rebuilt only when that changes.
#
# Requires a running engine (test/env/ensure-docker.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Applets linked into /bin. Tests may rely on any of them.
applets=(sh ash cat echo sleep true false env ls head tail wc tr printf dd mkdir rm cp mv id kill
  grep sed awk cut sort uniq xargs test '[' seq date touch stat pwd uname hostname base64 sha256sum
  md5sum tee basename dirname readlink find ps timeout yes chmod ln expr nproc od)
layout_version=1

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp" # apt-get download writes as the _apt user

is_static() { ! ldd "$1" >/dev/null 2>&1; }

# A static busybox from Debian's busybox-static: the installed one if present,
# else the package downloaded (not installed) from the apt archive.
busybox=""
if [[ -x /bin/busybox ]] && dpkg -s busybox-static >/dev/null 2>&1 && is_static /bin/busybox; then
  busybox=/bin/busybox
else
  log "downloading busybox-static from the apt archive"
  (cd "$tmp" && apt-get download -q busybox-static >&2)
  dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/deb"
  busybox="$tmp/deb/bin/busybox"
fi
is_static "$busybox" || die "$busybox is not statically linked"

content_hash="$( { sha256sum "$busybox" | cut -d' ' -f1; printf '%s\n' "${applets[@]}" "layout=$layout_version"; } | sha256sum | cut -c1-16)"
current="$(docker image inspect "$FERRY_TEST_IMAGE" --format '{{index .Config.Labels "ferry.test.content"}}' 2>/dev/null || true)"
if [[ "$current" == "$content_hash" ]]; then
  log "$FERRY_TEST_IMAGE is up to date (content $content_hash)"
else
  root="$tmp/rootfs"
  mkdir -p "$root"/{bin,etc,tmp,ferry/job,root}
  chmod 1777 "$root/tmp"
  install -m 0755 "$busybox" "$root/bin/busybox"
  for applet in "${applets[@]}"; do ln -s busybox "$root/bin/$applet"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  # Fixed owners and times keep the layer identical from build to build.
  tar --numeric-owner --owner=0 --group=0 --mtime='2020-01-01 00:00:00Z' --sort=name \
    -C "$root" -cf "$tmp/rootfs.tar" .
  docker import \
    --change 'ENV PATH=/bin' \
    --change 'WORKDIR /' \
    --change 'CMD ["sh"]' \
    --change "LABEL ferry.test.content=$content_hash" \
    --message "Ferry test image: static busybox" \
    "$tmp/rootfs.tar" "$FERRY_TEST_IMAGE" >/dev/null
  log "built $FERRY_TEST_IMAGE (content $content_hash)"
fi

out="$(docker run --rm --network none "$FERRY_TEST_IMAGE" sh -c 'echo ok')"
[[ "$out" == ok ]] || die "$FERRY_TEST_IMAGE did not run: expected 'ok', got '$out'"
log "$FERRY_TEST_IMAGE runs with --network none"
