// Measures this machine's limits so benchmarks can state each figure as a fraction of what the
// hardware allows in the same run: memory read bandwidth (a streaming read over a buffer far
// larger than the caches, several independent wide loads per iteration, every thread) and peak
// arithmetic of the instruction mix the kernels use (f32 FMA; int8 dot products, VNNI where
// present; bf16 pair dot products where AVX512_BF16 is). The probes are meant to be at least as
// fast as any real kernel: a kernel above 100% of them means the probe is wrong.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "util/thread_pool.h"

namespace tenbin::kernels {

struct MachineLimits {
  std::string isa;  // instruction set the probes (and kernels) use
  int threads = 1;
  double mem_read_gbs = 0;      // GB/s (1e9 bytes), best of several passes
  double peak_f32_gflops = 0;   // FMA: 2 flops per lane
  double peak_int8_gops = 0;    // int8 multiply-adds: 2 ops per product
  double peak_bf16_gflops = 0;  // bf16 pair dots (vdpbf16ps): 2 flops per product; 0 without
  // Set for a GPU instead of the two CPU peaks: its prefill matmul's instruction peak.
  double peak_matmul_gflops = 0;
  std::string peak_matmul_kind;
};

struct ProbeOptions {
  size_t buffer_bytes = size_t{1} << 30;  // 1 GiB
  int passes = 8;
};

MachineLimits measure_machine_limits(ThreadPool& pool, const ProbeOptions& options = {});
// The memory read probe alone (GB/s, best of options.passes); 0 if the buffer cannot be had.
double measure_mem_read_gbs(ThreadPool& pool, const ProbeOptions& options = {});

// The memory read probe with its buffer kept: allocated (huge pages where allowed) and written
// once, then measured as often as asked, so a benchmark that re-probes between repetitions does
// not fault in and zero a gigabyte each time. Holds buffer_bytes for its lifetime.
class MemoryReadProbe {
 public:
  explicit MemoryReadProbe(ThreadPool& pool, size_t buffer_bytes = ProbeOptions{}.buffer_bytes);
  ~MemoryReadProbe();
  MemoryReadProbe(const MemoryReadProbe&) = delete;
  MemoryReadProbe& operator=(const MemoryReadProbe&) = delete;

  // GB/s (1e9 bytes), best of `passes` streaming reads by every thread; 0 without a buffer.
  double measure(int passes);

 private:
  ThreadPool& pool_;
  size_t slice_ = 0;  // bytes per thread, page aligned
  uint8_t* buffer_ = nullptr;
};

// One thread's share of the probes, per instruction set (defined in probe_*.cc).
struct ProbeKernels {
  // Returns a checksum. With prefetch_distance > 0 it also asks for the line that many bytes on
  // into L2 every 256 bytes, as the one-token kernels do.
  uint64_t (*read_bytes)(const void* data, size_t bytes, size_t prefetch_distance);
  double (*fma_loop)(long iterations);                 // returns flops done
  double (*int8_dot_loop)(long iterations);            // returns ops done
  double (*bf16_dot_loop)(long iterations) = nullptr;  // returns flops done; null without
};
ProbeKernels probe_kernels_scalar();
ProbeKernels probe_kernels_avx2();
ProbeKernels probe_kernels_avx512();

}  // namespace tenbin::kernels
