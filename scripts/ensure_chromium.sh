#!/usr/bin/env bash
# Make sure Debian's `chromium` and `chromium-driver` are installed (the console's browser tests
# drive a real headless Chromium through selenium; the docs' screenshots come from it too).
# Idempotent: does nothing when both are there. Needs root or sudo on a fresh machine.
set -euo pipefail
. "$(dirname "$0")/apt_install.sh"

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
# fonts-dejavu-core: Greek text in the console and the report screenshots.
apt_install ensure_chromium chromium-driver chromium fonts-dejavu-core
command -v chromedriver >/dev/null 2>&1 || { echo "ensure_chromium: install failed" >&2; exit 1; }
echo "ensure_chromium: $(chromium --version)"
