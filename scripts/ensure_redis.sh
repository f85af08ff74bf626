#!/usr/bin/env bash
# Make sure Debian's `redis-server` is on PATH (the ops tests start a real one on 127.0.0.1).
# Idempotent: does nothing when it is already installed; runs `apt-get update` only when the
# package is not known to apt yet. Needs root or sudo on a fresh machine.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "ensure_redis: redis-server is missing and we are not root (no sudo)" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
# An empty candidate means the package lists are missing or stale: refresh them once.
if ! apt-cache policy redis-server 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  $SUDO apt-get update -qq
fi
# --no-install-recommends: the server binary only; we never run it as a system service.
$SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null
# Debian may start a system-wide instance on 6379; the tests use their own on a free port.
command -v redis-server >/dev/null 2>&1 || { echo "ensure_redis: install failed" >&2; exit 1; }
echo "ensure_redis: $(redis-server --version)"
