#!/usr/bin/env bash
# Makes the virtualenv examples/python-client runs in: .venv/python-client
# (git-ignored), with examples/python-client/requirements.txt (boto3, pinned)
# installed from PyPI by pip. Reused as is while the requirements are
# unchanged (a stamp file holds their hash); prints the venv's python.
#
# Environment:
#   FERRY_PYTHON   Python >= 3.9 to build the venv with (default: python3)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

venv="$FERRY_REPO_ROOT/.venv/python-client"
requirements="$FERRY_REPO_ROOT/examples/python-client/requirements.txt"
python="${FERRY_PYTHON:-python3}"
stamp="$(sha256sum "$requirements" | cut -d' ' -f1)"

if [[ ! -x "$venv/bin/python" || "$(cat "$venv/.ferry-stamp" 2>/dev/null)" != "$stamp" ]]; then
  command -v "$python" >/dev/null || die "no $python: install python3 and python3-venv (or set FERRY_PYTHON)"
  "$python" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 9))' 2>/dev/null ||
    die "$python is not Python >= 3.9 with venv and ensurepip (Debian: apt-get install python3-venv)"
  log "installing $(tr '\n' ' ' <"$requirements")into $venv with $python ($("$python" --version))"
  rm -rf "$venv"
  "$python" -m venv "$venv" >&2
  "$venv/bin/pip" install -q --no-input --disable-pip-version-check -r "$requirements" >&2 ||
    die "pip could not install $requirements (output above)"
  echo "$stamp" >"$venv/.ferry-stamp"
fi
echo "$venv/bin/python"
