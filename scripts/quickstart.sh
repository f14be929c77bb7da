#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install dependencies, build, and generate text on
# the CPU. With no model given it synthesizes a small random-weight demo model (its output is
# gibberish by construction) and says so.
# Usage: scripts/quickstart.sh [MODEL.gguf] [PROMPT] [extra `tenbin run` options...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/build.sh >/dev/null
tenbin="$root/build/tenbin"

model=${1:-}
prompt=${2:-"Once upon a time"}
shift $(( $# > 2 ? 2 : $# ))
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
exec "$tenbin" run -m "$model" -p "$prompt" -n 64 "$@"
