#!/usr/bin/env bash
# Prepares a host for the Ferry agent, for install.sh and the .deb's postinst
# alike: the `ferry` user (the agent) and `ferry-step` (process and function
# steps), /etc/ferry with a config from the example if none exists and the
# credentials file, and the state folder. Safe to run again: what exists is kept.
#
#   setup-host.sh --example FILE [--root DIR]
#
# --root DIR prepares a system image under DIR instead of this system (its
# etc/passwd and etc/group are the ones changed); the .deb passes DPKG_ROOT.
set -euo pipefail

root="${DPKG_ROOT:-}"
example=""
while (($#)); do
  case "$1" in
  --root) root="${2:?--root needs a folder}" && shift 2 ;;
  --example) example="${2:?--example needs a file}" && shift 2 ;;
  *) echo "setup-host.sh: unknown option $1 (options: --example FILE, --root DIR)" >&2 && exit 2 ;;
  esac
done
[[ -f "$example" ]] || { echo "setup-host.sh: --example FILE is required (the agent.yaml to start from)" >&2; exit 2; }
root="${root%/}"
prefix=()
[[ -n "$root" ]] && prefix=(--prefix "$root")

has_user() { grep -q "^$1:" "$root/etc/passwd" 2>/dev/null; }
has_group() { grep -q "^$1:" "$root/etc/group" 2>/dev/null; }
# Numeric ids, read from the target's own files: under --root, names mean nothing to this system.
uid_of() { awk -F: -v n="$1" '$1 == n { print $3 }' "$root/etc/passwd"; }
gid_of() { awk -F: -v n="$1" '$1 == n { print $3 }' "$root/etc/group"; }

has_user ferry || useradd "${prefix[@]}" --system --user-group --home-dir /var/lib/ferry --shell /usr/sbin/nologin ferry
# The engine's socket: the docker group, when there is one.
has_group docker && usermod "${prefix[@]}" -aG docker ferry
# Steps run as ferry-step: no login, no home, no groups of the agent's.
has_user ferry-step ||
  useradd "${prefix[@]}" --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ferry-step
[[ -n "$root" ]] || command -v setpriv >/dev/null || echo "setup-host.sh: setpriv (util-linux) is missing; steps.user needs it" >&2

ferry_uid="$(uid_of ferry)"
ferry_gid="$(gid_of ferry)"
mkdir -p "$root/etc/ferry" "$root/var/lib/ferry"
[[ -f "$root/etc/ferry/agent.yaml" ]] || install -m 0640 -o 0 -g "$ferry_gid" "$example" "$root/etc/ferry/agent.yaml"
# Credentials: read by systemd only (EnvironmentFile), never by the agent's user or steps.
[[ -f "$root/etc/ferry/agent.env" ]] || install -m 0600 /dev/null "$root/etc/ferry/agent.env"
chown 0:0 "$root/etc/ferry/agent.env" && chmod 0600 "$root/etc/ferry/agent.env"
chown -R "$ferry_uid:$ferry_gid" "$root/var/lib/ferry"
chmod 0711 "$root/var/lib/ferry"
