#!/usr/bin/env bash
# Chromium for the browser agents and the UI tests. Playwright cannot
# download its own browser here, so we use Debian's (REACHLY_CHROMIUM).
set -euo pipefail
if [[ -n "${REACHLY_CHROMIUM:-}" && -x "${REACHLY_CHROMIUM}" ]] || command -v chromium >/dev/null; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "chromium is missing: install it (sudo apt-get install -y chromium) or set REACHLY_CHROMIUM"; exit 1
fi
echo "installing Debian's chromium…"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
command -v chromium >/dev/null
