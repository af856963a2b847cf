#!/usr/bin/env bash
# Installs the Ferry edge agent as a systemd service on a Linux device:
#   sudo bash edge-agent/install/install.sh            (from a Ferry checkout with `npm install` done)
#   sudo bash edge-agent/install/install.sh --engine-proxy
#       the agent gets no docker group: it reaches Docker only through
#       ferry-engine-proxy.service, which allows only hardened step containers
# Creates the `ferry` user (the agent) and `ferry-step` (process and function
# steps), copies Ferry to /opt/ferry, installs the unit and an
# example config, and starts the service. Safe to run again (upgrades in place).
set -euo pipefail

[[ $(id -u) -eq 0 ]] || { echo "install.sh: run as root (sudo)" >&2; exit 1; }
command -v node >/dev/null || { echo "install.sh: Node.js >= 20 is required" >&2; exit 1; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

engine_proxy=0
[[ ${1:-} == --engine-proxy ]] && engine_proxy=1

id ferry >/dev/null 2>&1 || useradd --system --home-dir /var/lib/ferry --shell /usr/sbin/nologin ferry
if [[ $engine_proxy == 1 ]]; then
  # The docker group is root on the host: the agent loses it, the proxy (root) stands in.
  if id -nG ferry | tr ' ' '\n' | grep -qx docker; then gpasswd -d ferry docker >/dev/null; fi
else
  getent group docker >/dev/null && usermod -aG docker ferry
fi
# Steps run as ferry-step: no login, no home, no groups of the agent's.
id ferry-step >/dev/null 2>&1 ||
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ferry-step
command -v setpriv >/dev/null || echo "install.sh: setpriv (util-linux) is missing; steps.user needs it" >&2

mkdir -p /opt/ferry /etc/ferry /var/lib/ferry
if command -v rsync >/dev/null; then
  rsync -a --delete --exclude .git --exclude .ferry "$repo/" /opt/ferry/
else
  cp -a "$repo/." /opt/ferry/
fi
[[ -f /etc/ferry/agent.yaml ]] || install -m 0640 -g ferry "$here/agent.example.yaml" /etc/ferry/agent.yaml
# Credentials: read by systemd only (EnvironmentFile), never by the agent's user or steps.
[[ -f /etc/ferry/agent.env ]] || install -m 0600 /dev/null /etc/ferry/agent.env
chown root:root /etc/ferry/agent.env && chmod 0600 /etc/ferry/agent.env
chown -R ferry:ferry /var/lib/ferry
chmod 0711 /var/lib/ferry

install -m 0644 "$here/ferry-agent.service" /etc/systemd/system/ferry-agent.service
if [[ $engine_proxy == 1 ]]; then
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
  systemctl daemon-reload
  systemctl enable --now ferry-engine-proxy.service
else
  rm -f /etc/systemd/system/ferry-agent.service.d/engine-proxy.conf
  systemctl daemon-reload
fi
systemctl enable --now ferry-agent.service
echo "ferry-agent installed. Edit /etc/ferry/agent.yaml (and AWS credentials in /etc/ferry/agent.env), then:"
echo "  sudo systemctl restart ferry-agent && journalctl -u ferry-agent -f"
