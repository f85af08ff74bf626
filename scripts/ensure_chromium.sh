#!/usr/bin/env bash
# Make sure Debian's `chromium` and `chromium-driver` are installed (the console's browser tests
# drive a real headless Chromium through selenium; the docs' screenshots come from it too).
# Idempotent: does nothing when both are there; runs `apt-get update` only when the packages are
# not known to apt yet. Needs root or sudo on a fresh machine.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "ensure_chromium: chromium is missing and we are not root (no sudo)" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
# An empty candidate means the package lists are missing or stale: refresh them once.
if ! apt-cache policy chromium-driver 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  $SUDO apt-get update -qq
fi
# --no-install-recommends: the browser and its driver; fonts for Greek text come with chromium.
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core \
  >/dev/null
command -v chromedriver >/dev/null 2>&1 || { echo "ensure_chromium: install failed" >&2; exit 1; }
echo "ensure_chromium: $(chromium --version)"
