#!/usr/bin/env bash
# Make sure Debian's PostgreSQL server binaries (initdb, pg_ctl) are installed: the store tests
# start a private server on 127.0.0.1 (tests/support/pg_server.py) and run the same suite on it
# as on SQLite. Idempotent: does nothing when they are installed (scripts/apt_install.sh does the
# installing). Needs root or sudo on a fresh machine. We never use the system-wide cluster Debian
# may create; the tests bring their own.
set -euo pipefail
. "$(dirname "$0")/apt_install.sh"

found() {
  command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 && return 0
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

if found; then
  exit 0
fi

apt_install ensure_postgres postgresql
found || { echo "ensure_postgres: install failed" >&2; exit 1; }
echo "ensure_postgres: $(ls -d /usr/lib/postgresql/*/bin | tail -1)"
