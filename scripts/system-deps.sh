#!/usr/bin/env bash
# System packages the test suite needs beyond Python: Debian's Chromium for the browser tests.
# Installs them when it can (root + apt). In CI (CI=true) a missing part fails the run.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests (apt-get)..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
  [ -x /usr/bin/chromium ] && exit 0
fi
echo "MISSING: /usr/bin/chromium (Debian package 'chromium'), needed by the browser tests." >&2
echo "         Install it with: sudo apt-get install chromium" >&2
if [ "${CI:-}" = "true" ]; then
  exit 1
fi
echo "         Browser tests will be skipped on this machine." >&2
