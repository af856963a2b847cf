#!/usr/bin/env bash
# Builds the ferry-agent container image with `docker build`, pulling nothing
# (scripts/build.mjs runs it):
#
#   build-image.sh BINARY TAG
#
# FROM scratch: the self-contained executable, the glibc and libstdc++
# libraries `ldd` says it loads, and passwd/group entries for its user.
# Idempotent: the image carries a label with the hash of its content and is
# rebuilt only when that changes. The binary must be for this machine (ldd runs it).
set -euo pipefail

binary="${1:?usage: build-image.sh BINARY TAG}"
tag="${2:?TAG is missing}"
layout_version=1
# The agent's user in the image (no name clash with the host's users matters: ids are what count).
uid=10001

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
root="$tmp/rootfs"
mkdir -p "$root"/{usr/bin,etc,tmp,var/lib/ferry/work}
chmod 1777 "$root/tmp"
install -m 0755 "$binary" "$root/usr/bin/ferry-agent"
# Every library the dynamic loader resolves (and the loader), at the path it resolves it to.
mapfile -t libraries < <(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
((${#libraries[@]})) || {
  echo "build-image.sh: ldd found no libraries for $binary (not a dynamic executable for this machine?)" >&2
  exit 1
}
for library in "${libraries[@]}"; do
  mkdir -p "$root$(dirname "$library")"
  cp -L "$library" "$root$library"
done
printf 'root:x:0:0:root:/root:/sbin/nologin\nferry:x:%d:%d:ferry agent:/var/lib/ferry:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' \
  "$uid" "$uid" >"$root/etc/passwd"
printf 'root:x:0:\nferry:x:%d:\nnogroup:x:65534:\n' "$uid" >"$root/etc/group"
chown -R "$uid:$uid" "$root/var/lib/ferry"
chmod 0711 "$root/var/lib/ferry"

content_hash="$(
  cd "$root" && find . -type f -print0 | sort -z | xargs -0 sha256sum | { cat; echo "layout=$layout_version"; } | sha256sum | cut -c1-16
)"
current="$(docker image inspect "$tag" --format '{{index .Config.Labels "ferry.agent.content"}}' 2>/dev/null || true)"
if [[ "$current" == "$content_hash" ]]; then
  echo "[build] $tag is up to date (content $content_hash)" >&2
  exit 0
fi
# Fixed owners and times keep the layer identical from build to build; ADD of a
# tar keeps its owners (COPY would make everything root's, the state folder too).
tar --numeric-owner --mtime='2020-01-01 00:00:00Z' --sort=name -C "$root" -cf "$tmp/rootfs.tar" .
cat >"$tmp/Dockerfile" <<EOF
FROM scratch
ADD rootfs.tar /
ENV FERRY_WORK_DIR=/var/lib/ferry/work
WORKDIR /var/lib/ferry
USER $uid:$uid
LABEL ferry.agent.content=$content_hash org.opencontainers.image.title=ferry-agent
ENTRYPOINT ["/usr/bin/ferry-agent"]
EOF
# The classic builder: FROM scratch with COPY only needs no BuildKit and no network.
rm -rf "$root"
previous="$(docker image inspect "$tag" --format '{{.Id}}' 2>/dev/null || true)"
DOCKER_BUILDKIT=0 docker build --quiet --tag "$tag" "$tmp" >/dev/null
# The image this one replaces would stay behind untagged: remove it (unless a container still uses it).
if [[ -n "$previous" && "$previous" != "$(docker image inspect "$tag" --format '{{.Id}}')" ]]; then
  docker rmi "$previous" >/dev/null 2>&1 || true
fi
echo "[build] built $tag (content $content_hash)" >&2
