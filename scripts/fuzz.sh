#!/usr/bin/env bash
# Fuzzes the GGUF reader and the structured-output grammars: configures a clang build with
# libFuzzer + ASan + UBSan in build-fuzz, builds tests/fuzz targets and runs gguf_fuzz (seeds in
# tests/fuzz/corpus) and grammar_fuzz (seeds in tests/fuzz/grammar_corpus), each for a bounded
# time (seconds, default 60). Exits non-zero on any crash; reproducers land in fuzz-out/.
# Usage: scripts/fuzz.sh [seconds]
set -euo pipefail

seconds="${1:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-fuzz"
cxx="${TENBIN_FUZZ_CXX:-$(command -v clang++ || command -v clang++-14)}"
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTENBIN_FUZZ=ON -DTENBIN_BUILD_TESTS=OFF "${launcher[@]}"
ninja -C "$build" gguf_fuzz grammar_fuzz

# Runs one target from its committed seeds; new inputs go to a scratch corpus in the build
# folder, so the committed seeds stay unchanged.
run_target() {
  local name="$1" seeds="$2" max_len="$3"
  local scratch="$build/$name-corpus"
  mkdir -p "$scratch" "$root/fuzz-out"
  "$build/tests/fuzz/$name" -max_len="$max_len" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$root/fuzz-out/" \
    "$scratch" "$seeds"
  echo "fuzz.sh: $name, no crash in ${seconds}s"
}
run_target gguf_fuzz "$root/tests/fuzz/corpus" 65536
run_target grammar_fuzz "$root/tests/fuzz/grammar_corpus" 4096
