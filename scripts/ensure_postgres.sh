#!/usr/bin/env bash
# Make sure Debian's PostgreSQL server binaries (initdb, pg_ctl) are installed: the store tests
# start a private server on 127.0.0.1 (tests/support/pg_server.py) and run the same suite on it
# as on SQLite. Idempotent: does nothing when they are installed; runs `apt-get update` only when
# the package is not known to apt yet. Needs root or sudo on a fresh machine. We never use the
# system-wide cluster Debian may create; the tests bring their own.
set -euo pipefail

found() {
  command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 && return 0
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

if found; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "ensure_postgres: PostgreSQL is missing and we are not root (no sudo)" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
# An empty candidate means the package lists are missing or stale: refresh them once.
if ! apt-cache policy postgresql 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  $SUDO apt-get update -qq
fi
$SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
found || { echo "ensure_postgres: install failed" >&2; exit 1; }
echo "ensure_postgres: $(ls -d /usr/lib/postgresql/*/bin | tail -1)"
