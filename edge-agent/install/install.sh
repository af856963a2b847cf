#!/usr/bin/env bash
# Installs the Ferry edge agent, a self-contained executable, as a systemd service:
#
#   sudo ./install.sh                      from an unpacked release (ferry-agent beside this script)
#                                          or a checkout (dist/agent/linux-<arch>/ferry-agent, built if missing)
#   sudo ./install.sh --binary FILE        a downloaded ferry-agent executable
#   sudo ./install.sh --url URL            the same, downloaded with curl
#   sudo ./install.sh --deb FILE           the .deb, with dpkg (the package does the rest)
#
# Options:
#   --no-start   install and enable the unit, but do not start it (edit the config first)
#   --root DIR   install into a system image under DIR (implies --no-start; nothing on this system changes)
#   --engine-proxy  no docker group for the agent: it reaches Docker only through
#                ferry-engine-proxy.service, which allows only hardened step containers
#                (`ferry-agent engine-proxy`, running as root with two capabilities)
#
# Installs /usr/bin/ferry-agent and /etc/systemd/system/ferry-agent.service,
# creates the `ferry` user (the agent) and `ferry-step` (process and function
# steps), writes /etc/ferry/agent.yaml from agent.example.yaml if none exists,
# and starts the service. Safe to run again: upgrades in place, keeps the config.
set -euo pipefail

usage() { sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() {
  echo "install.sh: $*" >&2
  exit 1
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
binary="" url="" deb="" root="" start=1 engine_proxy=0
while (($#)); do
  case "$1" in
  --binary) binary="${2:?--binary needs a file}" && shift 2 ;;
  --url) url="${2:?--url needs an address}" && shift 2 ;;
  --deb) deb="${2:?--deb needs a file}" && shift 2 ;;
  --root) root="${2:?--root needs a folder}" && shift 2 ;;
  --no-start) start=0 && shift ;;
  --engine-proxy) engine_proxy=1 && shift ;;
  -h | --help) usage && exit 0 ;;
  *) echo "install.sh: unknown option $1" >&2 && usage >&2 && exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || die "run as root (sudo)"
root="${root%/}"
[[ -z "$root" ]] || { [[ -d "$root" ]] || die "--root $root is not a folder"; start=0; }

case "$(uname -m)" in
x86_64 | amd64) arch=x64 ;;
aarch64 | arm64) arch=arm64 ;;
*) die "no ferry-agent build for $(uname -m): builds exist for x86_64 and aarch64" ;;
esac

if [[ -n "$deb" ]]; then
  [[ -f "$deb" ]] || die "--deb $deb: no such file"
  if [[ -n "$root" ]]; then
    dpkg --root="$root" --force-script-chrootless -i "$deb"
  else
    dpkg -i "$deb"
  fi
  ((start)) && systemctl start ferry-agent.service
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [[ -n "$url" ]]; then
  command -v curl >/dev/null || die "--url needs curl"
  curl -fsSL --retry 3 -o "$tmp/ferry-agent" "$url" || die "could not download $url"
  binary="$tmp/ferry-agent"
elif [[ -z "$binary" ]]; then
  repo="$(cd "$here/../.." && pwd)"
  if [[ -f "$here/ferry-agent" ]]; then
    binary="$here/ferry-agent" # an unpacked release
  elif [[ -f "$repo/scripts/build.mjs" ]]; then
    binary="$repo/dist/agent/linux-$arch/ferry-agent"
    if [[ ! -f "$binary" ]]; then
      [[ -x "$repo/node_modules/.bin/node" ]] ||
        die "no built agent at $binary: run \`npm install\` and \`npm run build:agent\` in $repo, or pass --binary/--url/--deb"
      echo "install.sh: building the agent (node scripts/build.mjs agent-sea-linux-$arch)"
      (cd "$repo" && node_modules/.bin/node scripts/build.mjs "agent-sea-linux-$arch")
    fi
  else
    die "no ferry-agent beside install.sh: pass --binary FILE, --url URL or --deb FILE"
  fi
fi
[[ -f "$binary" ]] || die "$binary: no such file"

# The ELF header's machine field: refuse another architecture's build before installing it.
machine="$(od -An -tx1 -j18 -N2 "$binary" | tr -d ' \n')"
case "$machine" in
3e00) built=x64 ;;
b700) built=arm64 ;;
*) die "$binary is not a Linux x64 or arm64 executable" ;;
esac
[[ "$built" == "$arch" ]] || die "$binary is the linux-$built build; this machine needs linux-$arch"
[[ -n "$root" ]] || version="$("$binary" --version)" || die "$binary does not run here (\`$binary --version\` failed)"

install -D -m 0755 "$binary" "$root/usr/bin/ferry-agent"
install -D -m 0644 "$here/ferry-agent.service" "$root/etc/systemd/system/ferry-agent.service"
install -D -m 0644 "$here/agent.example.yaml" "$root/usr/share/ferry-agent/agent.example.yaml"
install -D -m 0644 "$here/INSTALL.md" "$root/usr/share/doc/ferry-agent/INSTALL.md"
bash "$here/setup-host.sh" --example "$here/agent.example.yaml" ${root:+--root "$root"}

if [[ -n "$root" ]]; then
  echo "ferry-agent installed under $root (not started)."
  exit 0
fi
echo "installed ${version:-ferry-agent} as /usr/bin/ferry-agent"
[[ -d /opt/ferry/node_modules ]] && echo "note: /opt/ferry (an earlier install from a checkout) is no longer used; remove it when you like"
if ((engine_proxy)); then
  # The docker group is root on the host: the agent loses it, the proxy (root) stands in.
  if id -nG ferry | tr ' ' '\n' | grep -qx docker; then gpasswd -d ferry docker >/dev/null; fi
  install -m 0644 "$here/ferry-engine-proxy.service" /etc/systemd/system/ferry-engine-proxy.service
  mkdir -p /etc/systemd/system/ferry-agent.service.d
  cat >/etc/systemd/system/ferry-agent.service.d/engine-proxy.conf <<'UNIT'
[Unit]
Requires=ferry-engine-proxy.service
After=ferry-engine-proxy.service
[Service]
# No docker group: the engine only through the proxy's socket.
SupplementaryGroups=
Environment=FERRY_ENGINE_SOCKET=/run/ferry-engine/engine.sock
UNIT
else
  rm -f /etc/systemd/system/ferry-agent.service.d/engine-proxy.conf
fi
if [[ ! -d /run/systemd/system ]]; then
  echo "systemd is not running here: start the agent with  ferry-agent --config /etc/ferry/agent.yaml"
  exit 0
fi
systemctl daemon-reload
((engine_proxy)) && systemctl enable --now ferry-engine-proxy.service
if ((start)); then
  systemctl enable --now ferry-agent.service
  systemctl restart ferry-agent.service # an upgrade runs the new binary
else
  systemctl enable ferry-agent.service
fi
echo "Edit /etc/ferry/agent.yaml (and AWS credentials in /etc/ferry/agent.env), then:"
echo "  sudo systemctl restart ferry-agent && journalctl -u ferry-agent -f"
