#!/usr/bin/env bash
# Re-runs the planner's prediction-vs-measurement check on this machine and prints the
# markdown table docs/planner.md keeps:
#   1. synthesizes four models (outside the repository) if they are missing,
#   2. measures each with `tenbin perf` (prefill pp128 and decode tg64, 2 threads),
#   3. calibrates the cpu-2vcpu entry on ONE model size (TinyLlama-1.1B, q4_0 and f16),
#   4. predicts the other sizes and quantizations with `tenbin plan` and compares.
# Usage: scripts/planner_calibration.sh [TENBIN_BINARY] [MODELS_DIR] [OUT_DIR]
# Needs python3 for the table. Takes a few minutes; run it on an otherwise idle machine.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
tenbin="${1:-$repo/build/tenbin}"
models="${2:-$repo/../models}"
out="${3:-$(mktemp -d)}"
threads="${THREADS:-2}"
mkdir -p "$models" "$out"

synth() {  # name preset type [extra args]
  local file="$models/$1.gguf"
  [ -f "$file" ] || "$tenbin" synth --preset "$2" --type "$3" "${@:4}" -o "$file" >&2
}
synth tinyllama-q4_0 tinyllama-1.1b q4_0
synth tinyllama-f16 tinyllama-1.1b f16
synth qwen2-0.5b-q8_0 qwen2-0.5b q8_0
synth llama-2-7b-l8-q4_0 llama-2-7b q4_0 --layers 8

calibrate_on=(tinyllama-q4_0 tinyllama-f16)
predict=(tinyllama-q4_0 tinyllama-f16 qwen2-0.5b-q8_0 llama-2-7b-l8-q4_0)

for m in "${predict[@]}"; do
  echo "perf $m ..." >&2
  "$tenbin" perf -m "$models/$m.gguf" -t "$threads" -p 128 -n 64 -r 3 --json > "$out/perf-$m.json"
done
"$tenbin" plan --calibrate $(for m in "${calibrate_on[@]}"; do echo "$out/perf-$m.json"; done) \
  --device cpu-2vcpu --save "$out/calibration.json" >&2
for m in "${predict[@]}"; do
  "$tenbin" plan --model "$models/$m.gguf" --gpus cpu-2vcpu --concurrency 1 --input-len 128 \
    --output-len 64 --calibration "$out/calibration.json" --json > "$out/plan-$m.json"
done

python3 - "$out" "${calibrate_on[*]}" "${predict[@]}" <<'PY'
import json, sys
out, calibrated, models = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
cal = json.load(open(f"{out}/calibration.json"))
e = cal["efficiency"]
print(f"calibration ({cal['created']}): bandwidth {e['bandwidth']:.3f}, compute (f32) "
      f"{e['compute']:.3f}, compute (int8) {e.get('compute_int8', e['compute']):.3f}, "
      f"step overhead {e['step_overhead_ms']:.2f} ms; limits {cal['limits']}")
print()
print("| model | role | decode tok/s measured | predicted | error | TTFT (128 tokens) ms measured | predicted | error |")
print("|---|---|---|---|---|---|---|---|")
for m in models:
    perf = json.load(open(f"{out}/perf-{m}.json"))
    plan = json.load(open(f"{out}/plan-{m}.json"))["configs"][0]
    res = {r["test"]: r for r in perf["results"]}
    tg = res["tg64"]["tokens_per_s"]
    ttft = 128 / res["pp128"]["tokens_per_s"] * 1000
    tg_pred = 1000 / plan["tpot_ms"]
    ttft_pred = plan["ttft_ms"]
    role = "calibration" if m in calibrated else "prediction"
    print(f"| {m} | {role} | {tg:.2f} | {tg_pred:.2f} | {100 * (tg_pred / tg - 1):+.1f}% | "
          f"{ttft:.0f} | {ttft_pred:.0f} | {100 * (ttft_pred / ttft - 1):+.1f}% |")
PY
echo "files in $out" >&2
