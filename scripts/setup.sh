#!/usr/bin/env bash
# Creates .venv and installs trendcast. torch is installed first, pinned to the local CPU build, so that nothing
# later resolves the multi-GB CUDA wheels. Usage: bash scripts/setup.sh [extras, e.g. dev]
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q "torch==2.13.0"
if [ -n "$extras" ]; then python -m pip install -q -e ".[$extras]"; else python -m pip install -q -e .; fi
