#!/usr/bin/env bash
# Re-runs the planner's prediction-vs-measurement check on this machine and prints the
# markdown table docs/planner.md keeps:
#   1. synthesizes six models (outside the repository) if they are missing,
#   2. measures each with `tenbin perf` (prefill pp128 and decode tg64, $THREADS threads,
#      default 1: one-thread runs are robust to other work on the machine), $RUNS times
#      (default 3),
#   3. calibrates the cpu-2vcpu entry on ONE model size (TinyLlama-1.1B in q4_0, q8_0, q4_k_m
#      and f16, which fits a kernel-efficiency factor per weight type),
#   4. predicts the other sizes (Qwen2-0.5B q8_0, LLaMA-2-7B's shape with 8 layers, q4_0)
#      with `tenbin plan` and compares.
# Usage: scripts/planner_calibration.sh [TENBIN_BINARY] [MODELS_DIR] [OUT_DIR]
# Needs python3 for the table. Takes about 8 minutes; run it on an otherwise idle machine.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
tenbin="${1:-$repo/build/tenbin}"
models="${2:-$repo/../models}"
out="${3:-$(mktemp -d)}"
threads="${THREADS:-1}"
runs="${RUNS:-3}"
mkdir -p "$models" "$out"

synth() {  # name preset type [extra args]
  local file="$models/$1.gguf"
  [ -f "$file" ] || "$tenbin" synth --preset "$2" --type "$3" "${@:4}" -o "$file" >&2
}
synth tinyllama-q4_0 tinyllama-1.1b q4_0
synth tinyllama-q8_0 tinyllama-1.1b q8_0
synth tinyllama-q4_k_m tinyllama-1.1b q4_k_m
synth tinyllama-f16 tinyllama-1.1b f16
synth qwen2-0.5b-q8_0 qwen2-0.5b q8_0
synth llama-2-7b-l8-q4_0 llama-2-7b q4_0 --layers 8

calibrate_on=(tinyllama-q4_0 tinyllama-q8_0 tinyllama-q4_k_m tinyllama-f16)
predict=("${calibrate_on[@]}" qwen2-0.5b-q8_0 llama-2-7b-l8-q4_0)

# Each model RUNS times, round-robin, so that the machine's drift (its memory bandwidth moves
# by 10% over minutes) spreads over all of them; one file per model holds every run (`plan
# --calibrate` takes a JSON array of runs and fits them all).
for r in $(seq 1 "$runs"); do
  for m in "${predict[@]}"; do
    echo "perf $m, run $r of $runs (load average $(cut -d' ' -f1-3 /proc/loadavg)) ..." >&2
    "$tenbin" perf -m "$models/$m.gguf" -t "$threads" -p 128 -n 64 -r 3 --json \
      > "$out/perf-$m.$r.json"
  done
done
for m in "${predict[@]}"; do
  python3 -c 'import json, sys; json.dump([json.load(open(f)) for f in sys.argv[2:]],
              open(sys.argv[1], "w"), indent=1)' "$out/perf-$m.json" \
    $(for r in $(seq 1 "$runs"); do echo "$out/perf-$m.$r.json"; done)
done
"$tenbin" plan --calibrate $(for m in "${calibrate_on[@]}"; do echo "$out/perf-$m.json"; done) \
  --device cpu-2vcpu --save "$out/calibration.json" >&2
# TTFT of a 128-token prompt; decode at the context tg64 averages (1 + 64/2 positions).
for m in "${predict[@]}"; do
  "$tenbin" plan --model "$models/$m.gguf" --gpus cpu-2vcpu --concurrency 1 --input-len 128 \
    --output-len 64 --calibration "$out/calibration.json" --json > "$out/plan-$m.json"
  "$tenbin" plan --model "$models/$m.gguf" --gpus cpu-2vcpu --concurrency 1 --input-len 1 \
    --output-len 64 --calibration "$out/calibration.json" --json > "$out/plan-$m-decode.json"
done

python3 - "$out" "${calibrate_on[*]}" "${predict[@]}" <<'PY'
import json, statistics, sys
out, calibrated, models = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
cal = json.load(open(f"{out}/calibration.json"))
e = cal["efficiency"]
print(f"calibration ({cal['created']}): bandwidth {e['bandwidth']:.3f}, compute (f32) "
      f"{e['compute']:.3f}, compute (int8) {e.get('compute_int8', e['compute']):.3f}, "
      f"step overhead {e['step_overhead_ms']:.2f} ms; limits {cal['limits']}")
for t, f in sorted(e.get("per_type", {}).items()):
    print(f"  {t}: bandwidth x {f['bandwidth']:.3f} = {e['bandwidth'] * f['bandwidth']:.3f}, "
          f"compute x {f['compute']:.3f}")
print()
print("measured: median of the runs (lowest-highest)")
print()
print("| model | role | decode tok/s measured | predicted | error | TTFT (128 tokens) ms measured | predicted | error |")
print("|---|---|---|---|---|---|---|---|")
for m in models:
    runs = json.load(open(f"{out}/perf-{m}.json"))
    def speeds(test):
        return [r["tokens_per_s"] for run in runs for r in run["results"] if r["test"] == test]
    tg, pp = speeds("tg64"), speeds("pp128")
    ttft = [128 / x * 1000 for x in pp]
    tg_pred = 1000 / json.load(open(f"{out}/plan-{m}-decode.json"))["configs"][0]["tpot_ms"]
    ttft_pred = json.load(open(f"{out}/plan-{m}.json"))["configs"][0]["ttft_ms"]
    role = "calibration" if m in calibrated else "prediction"
    t, f = statistics.median(tg), statistics.median(ttft)
    print(f"| {m} | {role} | {t:.2f} ({min(tg):.1f}-{max(tg):.1f}) | {tg_pred:.2f} | "
          f"{100 * (tg_pred / t - 1):+.1f}% | {f:.0f} ({min(ttft):.0f}-{max(ttft):.0f}) | "
          f"{ttft_pred:.0f} | {100 * (ttft_pred / f - 1):+.1f}% |")
PY
echo "files in $out" >&2
