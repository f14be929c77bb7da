#!/usr/bin/env bash
# Verifies the CUDA backend on a machine with an NVIDIA GPU and records its speed:
#   1. builds with the CUDA plugin (CUDA_ARCHS, default 90) in BUILD_DIR (default build-gpu);
#   2. op tests through the Backend interface on the GPU (every op vs the scalar reference);
#   3. end-to-end: greedy tokens of every shared reference model, CUDA vs CPU backend;
#   4. `tenbin perf --device cuda` on synthesized Llama-2-7B (f16, q8_0, q4_0) and Llama-3-8B
#      (q4_0) shapes: pp512 / tg128 against the measured HBM bandwidth and f16 GEMM peak;
#   5. a serving run: `tenbin serve --device cuda` + `tenbin bench` at concurrency 1,16,64,256
#      (greedy), and at 256 with temperature 1 (every row drawn on the GPU), with and without
#      5 logprobs per token.
# Results (logs and JSON) go to OUT_DIR (default ./gpu-check-out). Steps can be chosen with
# STEPS="build ops e2e perf serve". Models are synthesized into MODELS_DIR (default
# ./gpu-check-models), outside the source tree's tracked files.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build-gpu}
out=${OUT_DIR:-$root/gpu-check-out}
models=${MODELS_DIR:-$root/gpu-check-models}
steps=${STEPS:-build ops e2e perf serve}
mkdir -p "$out" "$models"
status=0
step() { [[ " $steps " == *" $1 "* ]]; }
note() { echo "== $*" | tee -a "$out/summary.txt"; }
http_get() { python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' "$1"; }

if step build; then
  note "build (sm ${CUDA_ARCHS:-90})"
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTENBIN_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHS:-90}" ${CMAKE_EXTRA:-} >"$out/configure.log" 2>&1 &&
    cmake --build "$build" -j "$(nproc)" >"$out/build.log" 2>&1 || { note "build FAILED"; exit 1; }
fi
tenbin="$build/tenbin"
export TENBIN_CUDA_PLUGIN="$root/$build/libtenbin_cuda.so"
nvidia-smi --query-gpu=name,memory.total,clocks.max.memory,power.limit --format=csv \
  >"$out/nvidia-smi.csv" 2>&1 || true

if step ops; then
  note "op tests --backend cuda"
  "$build/tests/tenbin_op_test" --backend cuda >"$out/op_test_cuda.log" 2>&1 || status=1
  grep -E "^(FAIL|SKIP)" "$out/op_test_cuda.log" | head -40 | tee -a "$out/summary.txt"
  tail -1 "$out/op_test_cuda.log" | tee -a "$out/summary.txt"
fi

if step e2e; then
  note "end-to-end: CUDA vs CPU greedy tokens"
  "$build/tests/tenbin_unit_tests" --gtest_filter='*CudaBackend*:*.Cuda*:Device*:OpenBackend*' \
    >"$out/e2e.log" 2>&1 || status=1
  grep -E "^\[  (FAILED|PASSED|SKIPPED) |tokens agree|cache, cuda" "$out/e2e.log" | head -60 |
    tee -a "$out/summary.txt"
  note "end-to-end with decode steps as CUDA graphs (TENBIN_CUDA_GRAPHS=1)"
  TENBIN_CUDA_GRAPHS=1 "$build/tests/tenbin_unit_tests" \
    --gtest_filter='ServingEngineTest.Cuda*:SharedTestdata/ReferenceOutputs.CudaBackend*' \
    >"$out/e2e_graphs.log" 2>&1 || status=1
  grep -E "^\[  (FAILED|PASSED) |tokens agree" "$out/e2e_graphs.log" | head -30 |
    tee -a "$out/summary.txt"
fi

if step perf; then
  # The last specs: Q4_0 prefill with the f16 cuBLAS path instead of the CPU-recipe decode
  # kernels (TENBIN_CUDA_QUANT_GEMM=f16, cuda_matmul.cc), to measure what the exact recipe costs;
  # Q4_0 decode steps as CUDA graphs (TENBIN_CUDA_GRAPHS=1), to measure what launches cost.
  for spec in "llama-2-7b f16" "llama-2-7b q8_0" "llama-2-7b q4_0" "llama-3-8b q4_0" \
    "llama-2-7b q4_0 f16gemm" "llama-2-7b q4_0 graphs"; do
    set -- $spec
    file="$models/$1-$2.gguf"
    [ -f "$file" ] || "$tenbin" synth --preset "$1" --type "$2" -o "$file" >>"$out/synth.log" 2>&1
    tag="$1-$2${3:+-$3}"
    note "perf $1 $2 ${3:-}"
    gemm=; graphs=
    [ "${3:-}" = f16gemm ] && gemm=f16
    [ "${3:-}" = graphs ] && graphs=1
    TENBIN_CUDA_QUANT_GEMM=$gemm TENBIN_CUDA_GRAPHS=$graphs "$tenbin" perf -m "$file" \
      --device cuda -p 512 -n 128 -r 3 --json >"$out/perf-$tag.json" 2>>"$out/perf.log" || status=1
    python3 - "$out/perf-$tag.json" <<'PY' | tee -a "$out/summary.txt"
import json, sys
j = json.load(open(sys.argv[1]))
print(f"  limits: read {j['limits']['mem_read_gbs']:.0f} GB/s, peak {j['limits']['peak_gflops']:.0f} GFLOP/s")
for r in j["results"]:
    print(f"  {r['test']}: {r['tokens_per_s']:.1f} tok/s ({100 * r['fraction_of_limit']:.1f}% of {r['limit']})")
PY
  done
fi

if step serve; then
  file="$models/llama-2-7b-q4_0.gguf"
  [ -f "$file" ] || "$tenbin" synth --preset llama-2-7b --type q4_0 -o "$file" >>"$out/synth.log" 2>&1
  note "serve + bench (llama-2-7b q4_0)"
  "$tenbin" serve -m "$file" --device cuda --port 18080 --max-num-seqs 256 \
    --max-batch-tokens 2048 >"$out/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 120); do
    http_get http://127.0.0.1:18080/health >/dev/null 2>&1 && break
    sleep 1
  done
  "$tenbin" bench --url http://127.0.0.1:18080 --concurrency 1,16,64,256 --num-requests 256 \
    --input-len 512 --output-len 128 --json "$out/bench.json" --html \
    "$out/bench.html" --no-progress >"$out/bench.txt" 2>&1 || status=1
  tail -30 "$out/bench.txt" | tee -a "$out/summary.txt"
  note "bench at concurrency 256 with OpenAI's default sampling (temperature 1, drawn on the GPU)"
  "$tenbin" bench --url http://127.0.0.1:18080 --concurrency 256 --num-requests 256 \
    --input-len 512 --output-len 128 --temperature 1 --json "$out/bench_sampled.json" \
    --no-progress >"$out/bench_sampled.txt" 2>&1 || status=1
  tail -12 "$out/bench_sampled.txt" | tee -a "$out/summary.txt"
  note "the same with 5 logprobs per token (reported by the GPU from the raw rows)"
  "$tenbin" bench --url http://127.0.0.1:18080 --concurrency 256 --num-requests 256 \
    --input-len 512 --output-len 128 --temperature 1 --logprobs 5 \
    --json "$out/bench_logprobs.json" --no-progress >"$out/bench_logprobs.txt" 2>&1 || status=1
  tail -12 "$out/bench_logprobs.txt" | tee -a "$out/summary.txt"
  http_get http://127.0.0.1:18080/metrics | grep -E "^tenbin_gpu" >"$out/gpu_metrics.txt" || true
  kill "$server" 2>/dev/null
  wait "$server" 2>/dev/null
fi
note "exit status $status"
exit $status
