#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install dependencies, build, and generate text on
# the CPU. With no model given it synthesizes a small random-weight demo model (its output is
# gibberish by construction) and says so.
# Usage: scripts/quickstart.sh [MODEL.gguf] [PROMPT] [extra `tenbin run` options...]
#        scripts/quickstart.sh serve [MODEL.gguf] [extra `tenbin serve` options...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/build.sh >/dev/null
tenbin="$root/build/tenbin"

mode=run
if [ "${1:-}" = "serve" ]; then
  mode=serve
  shift
fi
model=${1:-}
[ $# -gt 0 ] && shift
prompt="Once upon a time"
if [ "$mode" = run ] && [ $# -gt 0 ]; then
  prompt=$1
  shift
fi
if [ -z "$model" ]; then
  model="$root/build/models/demo-q8_0.gguf"
  if [ ! -f "$model" ]; then
    mkdir -p "$(dirname "$model")"
    "$tenbin" synth --preset demo --type q8_0 -o "$model"
  fi
  echo "No model given: running a SYNTHESIZED DEMO MODEL with random weights ($model)."
  echo "Its text is meaningless; pass a real GGUF file to generate real text:"
  echo "  scripts/quickstart.sh path/to/model.gguf \"Your prompt\""
  echo
fi
if [ "$mode" = serve ]; then
  echo "OpenAI-compatible API on http://127.0.0.1:8080/v1 (Ctrl-C stops it). Try:"
  echo "  curl http://127.0.0.1:8080/v1/completions -H 'Content-Type: application/json' \\"
  echo "    -d '{\"model\": \"x\", \"prompt\": \"Once upon a time\", \"max_tokens\": 32}'"
  exec "$tenbin" serve -m "$model" --served-model-name x "$@"
fi
exec "$tenbin" run -m "$model" -p "$prompt" -n 64 "$@"
