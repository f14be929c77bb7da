#include "kernels/probe/machine_limits.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <vector>

#include "kernels/kernel_table.h"
#include "util/cpu_relax.h"
#include "util/large_alloc.h"

namespace tenbin::kernels {
namespace {

uint64_t read_bytes_scalar(const void* data, size_t bytes, size_t prefetch_distance) {
  const uint64_t* p = static_cast<const uint64_t*>(data);
  uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  for (size_t i = 0; i + 4 <= bytes / 8; i += 4) {
    if (prefetch_distance > 0 && i % 32 == 0) {
      __builtin_prefetch(p + i + prefetch_distance / 8, 0, 2);
    }
    a0 += p[i];
    a1 += p[i + 1];
    a2 += p[i + 2];
    a3 += p[i + 3];
  }
  return a0 + a1 + a2 + a3;
}

double fma_loop_scalar(long iterations) {
  float acc[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  for (long i = 0; i < iterations; ++i) {
    for (float& a : acc) a = a * 0.999f + 0.0001f;
  }
  volatile float sink = acc[0] + acc[7];
  (void)sink;
  return static_cast<double>(iterations) * 8 * 2;
}

double int8_loop_scalar(long iterations) {
  int32_t acc[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  for (long i = 0; i < iterations; ++i) {
    for (int32_t& a : acc) a += static_cast<int8_t>(i) * 3;
  }
  volatile int32_t sink = acc[0] + acc[7];
  (void)sink;
  return static_cast<double>(iterations) * 8 * 2;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Runs `fn(thread)` on every thread of the pool at once and returns the wall time from the
// moment the last thread arrives (a spin barrier) to the end of the slowest. Timed from the
// call instead, a worker that woke late stretched the time and the limit read low. (One run's
// two-thread arithmetic probe read a one-thread figure in all three passes; a vCPU the host
// takes away for the whole pass still reads low, as it should.)
template <class Fn>
double timed_on_all_threads(ThreadPool& pool, Fn fn) {
  const int n = pool.size();
  std::atomic<int> arrived{0};
  std::atomic<bool> go{false};
  std::chrono::steady_clock::time_point start;  // written by the last to arrive, before `go`
  std::vector<double> seconds(static_cast<size_t>(n));
  pool.run_on_each_thread([&](int t) {
    if (arrived.fetch_add(1, std::memory_order_acq_rel) + 1 == n) {
      start = std::chrono::steady_clock::now();
      go.store(true, std::memory_order_release);
    } else {
      while (!go.load(std::memory_order_acquire)) cpu_relax();
    }
    fn(t);
    seconds[static_cast<size_t>(t)] = seconds_since(start);
  });
  return *std::max_element(seconds.begin(), seconds.end());
}

}  // namespace

ProbeKernels probe_kernels_scalar() {
  return {read_bytes_scalar, fma_loop_scalar, int8_loop_scalar};
}

namespace {

ProbeKernels active_probe_kernels() {
  const Isa isa = best_isa();
  return isa == Isa::kAvx512 ? probe_kernels_avx512()
         : isa == Isa::kAvx2 ? probe_kernels_avx2()
                             : probe_kernels_scalar();
}

}  // namespace

MemoryReadProbe::MemoryReadProbe(ThreadPool& pool, size_t buffer_bytes) : pool_(pool) {
  const int n = pool.size();
  // Each thread streams its own contiguous slice; pages are written first so the reads hit
  // real memory rather than the shared zero page.
  slice_ = (buffer_bytes / n) & ~size_t{4095};
  if (slice_ == 0) return;
  // On huge pages where the kernel allows them, as the weights are (util/large_alloc.h): with
  // 4 KiB pages the probe measures TLB misses as much as memory.
  buffer_ = static_cast<uint8_t*>(allocate_large(slice_ * n));
  if (buffer_ == nullptr) return;
  timed_on_all_threads(pool, [&](int t) { std::memset(buffer_ + t * slice_, t + 1, slice_); });
}

MemoryReadProbe::~MemoryReadProbe() {
  free_large(buffer_, slice_ * pool_.size());
}

double MemoryReadProbe::measure(int passes) {
  if (buffer_ == nullptr) return 0;
  const ProbeKernels k = active_probe_kernels();
  const int n = pool_.size();
  std::vector<uint64_t> sums(n);
  double best = 0;
  // Passes alternate between plain reads and reads that also prefetch 8 KiB ahead: on this
  // machine class one core streams up to ~10% faster with the prefetches (and the one-token
  // kernels prefetch too), so the best of both is the limit a kernel can be held to.
  constexpr size_t kPrefetchDistance = 8192;
  for (int pass = 0; pass < passes; ++pass) {
    const size_t distance = pass % 2 == 0 ? 0 : kPrefetchDistance;
    const double s = timed_on_all_threads(
        pool_, [&](int t) { sums[t] += k.read_bytes(buffer_ + t * slice_, slice_, distance); });
    best = std::max(best, static_cast<double>(slice_) * n / s / 1e9);
  }
  return best;
}

double measure_mem_read_gbs(ThreadPool& pool, const ProbeOptions& options) {
  return MemoryReadProbe(pool, options.buffer_bytes).measure(options.passes);
}

MachineLimits measure_machine_limits(ThreadPool& pool, const ProbeOptions& options) {
  MachineLimits limits;
  limits.isa = std::string(isa_name(best_isa()));
  limits.threads = pool.size();
  const ProbeKernels k = active_probe_kernels();
  const int n = pool.size();
  limits.mem_read_gbs = measure_mem_read_gbs(pool, options);

  // Arithmetic: enough iterations for ~0.1 s per pass; best of three.
  const long iterations = 2'000'000;
  for (int pass = 0; pass < 3; ++pass) {
    std::vector<double> flops(n), ops(n);
    double s = timed_on_all_threads(pool, [&](int t) { flops[t] = k.fma_loop(iterations); });
    double total = 0;
    for (double f : flops) total += f;
    limits.peak_f32_gflops = std::max(limits.peak_f32_gflops, total / s / 1e9);
    s = timed_on_all_threads(pool, [&](int t) { ops[t] = k.int8_dot_loop(iterations); });
    total = 0;
    for (double o : ops) total += o;
    limits.peak_int8_gops = std::max(limits.peak_int8_gops, total / s / 1e9);
    if (k.bf16_dot_loop != nullptr) {
      s = timed_on_all_threads(pool, [&](int t) { flops[t] = k.bf16_dot_loop(iterations); });
      total = 0;
      for (double f : flops) total += f;
      limits.peak_bf16_gflops = std::max(limits.peak_bf16_gflops, total / s / 1e9);
    }
  }
  return limits;
}

}  // namespace tenbin::kernels
