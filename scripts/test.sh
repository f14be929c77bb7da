#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every test:
#   1. Release build with -Werror (and the CUDA backend plugin when nvcc is found): unit tests,
#      op tests (every SIMD variant and backend vs the scalar reference), integration tests that
#      run the real binary;
#   2. the unit and op tests again under AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. the GGUF reader fuzzer for a bounded time (FUZZ_SECONDS, default 60).
# Tests read models from ../shared next to the checkout (override: TENBIN_SHARED_DIR).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh

# The official OpenAI SDK for the server integration test (npm registry, pinned by the lockfile).
npm ci --prefix tests/integration/openai_sdk --no-audit --no-fund --loglevel=error
# playwright-core drives Debian's chromium to check bench's HTML report.
npm ci --prefix tests/integration/bench_report --no-audit --no-fund --loglevel=error

jobs=$(nproc)
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$root"  # cache hits across clones in other folders
fi

echo "== Release build (-Werror)"
# The CUDA backend plugin is compiled when nvcc is present (one architecture, sm_90, to keep
# time down; its op tests skip on machines without a GPU).
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTENBIN_WERROR=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 "${launcher[@]}" >/dev/null
cmake --build build -j "$jobs"
echo "== Release tests"
ctest --test-dir build --output-on-failure -j "$jobs"

echo "== ASan + UBSan build"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTENBIN_WERROR=ON \
  -DTENBIN_SANITIZE=ON -DTENBIN_CUDA=OFF "${launcher[@]}" >/dev/null
cmake --build build-asan -j "$jobs"
echo "== ASan + UBSan tests"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs" -LE slow

if [ -x scripts/fuzz.sh ]; then
  echo "== GGUF reader fuzzing (${FUZZ_SECONDS:-60} s)"
  scripts/fuzz.sh "${FUZZ_SECONDS:-60}"
fi
echo "== all tests passed"
