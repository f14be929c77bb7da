// tenbin_op_test: checks every kernel variant this CPU can run against the scalar reference on
// random shapes (odd sizes and tails included), one line per op x ISA x shape, then
// "N passed, M failed". --perf prints throughput as JSON lines instead (--threads N).
// --backend NAME (cpu, cuda, cuda:N) checks that backend's ops through backend::Backend
// instead (op_test_backend.h), the variant column naming the backend; when it cannot be opened
// (no GPU, no plugin) the reason is printed and the exit code is 77 (ctest's skip code).
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "backend/backend_registry.h"
#include "op_test.h"
#include "op_test_backend.h"

namespace {

// parallel_for must cover [0, n) exactly once, in grain-aligned chunks, for any pool size.
void check_thread_pool(tenbin::optest::Tally& tally) {
  for (int threads : {1, 2, 3, 8}) {
    tenbin::ThreadPool pool(threads);
    for (int64_t n : {1, 7, 64, 1000}) {
      for (int64_t grain : {1, 8, 32}) {
        std::vector<int> hits(static_cast<size_t>(n));
        bool aligned = true;
        for (int rep = 0; rep < 50; ++rep) {  // many rounds: exercises wake-up and drain
          pool.parallel_for(
              n,
              [&](int64_t b, int64_t e, int) {
                if (b % grain != 0) aligned = false;
                for (int64_t i = b; i < e; ++i) hits[i]++;
              },
              grain);
        }
        double bad = aligned ? 0 : 1;
        for (int h : hits) bad += h != 50;
        tally.check("thread_pool", tenbin::kernels::Isa::kScalar,
                    fmt::format("threads={} n={} grain={}", threads, n, grain), bad,
                    tenbin::optest::kTolExact);
      }
    }
    // run_on_each_thread: every thread index exactly once per call, interleaved with
    // parallel_for jobs.
    std::vector<std::atomic<int>> seen(static_cast<size_t>(threads));
    for (auto& s : seen) s.store(0);
    for (int rep = 0; rep < 200; ++rep) {
      pool.run_on_each_thread([&](int t) { seen[static_cast<size_t>(t)]++; });
      pool.parallel_for(3, [](int64_t, int64_t, int) {});
    }
    double bad = 0;
    for (const auto& count : seen) bad += count.load() != 200;
    tally.check("thread_pool_each", tenbin::kernels::Isa::kScalar,
                fmt::format("threads={}", threads), bad, tenbin::optest::kTolExact);
  }
}

constexpr int kExitSkipped = 77;  // ctest's SKIP_RETURN_CODE for op_test_backend_cuda

// The backend checks for --backend `name`: 2 for a name parse_device rejects, 77 when the
// backend cannot be opened here, else 0 when every check passes.
int run_backend_checks(const char* name, int threads) {
  auto spec = tenbin::backend::parse_device(name);
  if (!spec.ok()) {
    std::fprintf(stderr, "--backend %s: %s\n", name, spec.status().message().c_str());
    return 2;
  }
  auto dev = tenbin::backend::open_backend(*spec);
  if (!dev.ok()) {
    std::printf("SKIP backend %s: %s\n", spec->text().c_str(), dev.status().message().c_str());
    return kExitSkipped;
  }
  tenbin::optest::Tally tally;
  std::mt19937 rng(1234);
  tenbin::optest::run_backend_tests(**dev, tally, rng, threads);
  std::printf("%d passed, %d failed\n", tally.passed, tally.failed);
  return tally.failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  bool perf = false;
  int threads = 0;  // 0: the mode's default
  const char* backend = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--perf") == 0) {
      perf = true;
    } else if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--backend") == 0 && i + 1 < argc) {
      backend = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--perf | --backend cpu|cuda[:N]] [--threads N]\n", argv[0]);
      return 2;
    }
  }
  if (perf) {
    tenbin::optest::run_perf(threads < 1 ? 1 : threads);
    return 0;
  }
  // 3 threads by default: uneven splits of the CPU backend's work.
  if (backend != nullptr) return run_backend_checks(backend, threads < 1 ? 3 : threads);
  tenbin::optest::Tally tally;
  std::mt19937 rng(1234);
  check_thread_pool(tally);
  tenbin::optest::run_quant_tests(tally, rng);
  tenbin::optest::run_matmul_tests(tally, rng);
  tenbin::optest::run_elementwise_tests(tally, rng);
  std::printf("%d passed, %d failed\n", tally.passed, tally.failed);
  return tally.failed == 0 ? 0 : 1;
}
