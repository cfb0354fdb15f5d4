#!/usr/bin/env bash
# Sets up and runs the demo: US Census retail sales + dated news, "how will clothing stores trend next month?"
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export HF_HUB_OFFLINE=1
exec trendcast --home "${TRENDCAST_DEMO_HOME:-.trendcast-demo}" demo "$@"
