#!/usr/bin/env bash
# Make sure Debian's `redis-server` is on PATH (the ops tests start a real one on 127.0.0.1).
# Idempotent: does nothing when it is already installed. Needs root or sudo on a fresh machine.
# Debian may start a system-wide instance on 6379; the tests use their own on a free port.
set -euo pipefail
. "$(dirname "$0")/apt_install.sh"

if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
apt_install ensure_redis redis-server
command -v redis-server >/dev/null 2>&1 || { echo "ensure_redis: install failed" >&2; exit 1; }
echo "ensure_redis: $(redis-server --version)"
