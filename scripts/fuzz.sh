#!/usr/bin/env bash
# Fuzzes the GGUF reader: configures a clang build with libFuzzer + ASan + UBSan in build-fuzz,
# builds tests/fuzz targets and runs gguf_fuzz for a bounded time (seconds, default 60) from the
# seed corpus in tests/fuzz/corpus. Exits non-zero on any crash; reproducers land in fuzz-out/.
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
ninja -C "$build" gguf_fuzz

# New inputs go to a scratch corpus in the build folder; the committed seeds stay unchanged.
scratch="$build/gguf-corpus"
mkdir -p "$scratch" "$root/fuzz-out"
"$build/tests/fuzz/gguf_fuzz" -max_len=65536 -max_total_time="$seconds" -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$root/fuzz-out/" \
  "$scratch" "$root/tests/fuzz/corpus"
echo "fuzz.sh: no crash in ${seconds}s"
