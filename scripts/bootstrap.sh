#!/usr/bin/env bash
# Idempotent setup for a fresh Debian machine (run as root, or with sudo available):
# system packages Feature Bank needs, then .venv with the project and its dev tools.
# Usage: scripts/bootstrap.sh [--bench]   (--bench also installs wrk and hyperfine)
set -euo pipefail
cd "$(dirname "$0")/.."

want_bench=0
[[ "${1:-}" == "--bench" ]] && want_bench=1

SUDO=""
if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null; then SUDO="sudo"; fi

apt_updated=0
apt_install() {
  if ! command -v apt-get >/dev/null; then
    echo "bootstrap: apt-get is not available; install these yourself: $*" >&2
    return 1
  fi
  if [[ $apt_updated -eq 0 ]]; then
    echo "bootstrap: apt-get update"
    $SUDO apt-get update -qq
    apt_updated=1
  fi
  echo "bootstrap: apt-get install $*"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

packages=()
command -v redis-server >/dev/null || packages+=(redis-server)
command -v docker-compose >/dev/null || packages+=(docker-compose)
command -v chromium >/dev/null || packages+=(chromium chromium-driver)
if [[ $want_bench -eq 1 ]]; then
  command -v wrk >/dev/null || packages+=(wrk)
  command -v hyperfine >/dev/null || packages+=(hyperfine)
fi
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then packages+=(python3-venv); fi
if [[ ${#packages[@]} -gt 0 ]]; then apt_install "${packages[@]}"; fi

if [[ ! -x .venv/bin/python ]]; then
  echo "bootstrap: creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
  echo "bootstrap: installing Feature Bank and its dependencies into .venv (first run takes a few minutes)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  touch "$stamp"
fi
echo "bootstrap: ready"
