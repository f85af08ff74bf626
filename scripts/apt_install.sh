#!/usr/bin/env bash
# Shared by scripts/ensure_*.sh: `apt_install NAME PACKAGE...` installs Debian packages with
# root or sudo, running `apt-get update` only when the first package is not known to apt yet
# (an empty candidate means the package lists are missing or stale). --no-install-recommends:
# the binaries only; we never run them as system services, the tests start their own.

apt_install() {
  local name="$1"
  shift
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo="sudo"
    else
      echo "$name: $* missing and we are not root (no sudo)" >&2
      return 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-cache policy "$1" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    $sudo apt-get update -qq
  fi
  $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
