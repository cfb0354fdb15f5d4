#!/usr/bin/env bash
# Sets up (with the dev extras) and runs the whole test suite, slow tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
. .venv/bin/activate
export HF_HUB_OFFLINE=1
exec python -m pytest -q "$@"
