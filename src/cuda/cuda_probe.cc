// CudaBackend::measure_limits: the device's limits `tenbin perf` sets its figures against.
// Bandwidth: a streaming read of a buffer far larger than the L2 (read_probe.cu), best of ten
// passes timed with events. Matmul peak: a large f16 x f16 -> f32 cuBLAS GEMM (the prefill
// path's instruction mix: tensor cores, f32 accumulation), best of ten runs.
#include <algorithm>

#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "cuda/gemm.h"
#include "cuda/launch.h"

namespace tenbin::cuda {
namespace {

// Milliseconds of the fastest of `runs` calls of `fn` on `stream` (after one warm-up call).
template <class Fn>
float best_ms(cudaStream_t stream, int runs, Fn fn) {
  cudaEvent_t start = nullptr, stop = nullptr;
  TENBIN_CUDA_CHECK(cudaEventCreate(&start));
  TENBIN_CUDA_CHECK(cudaEventCreate(&stop));
  fn();
  float best = 0;
  for (int r = 0; r < runs; ++r) {
    TENBIN_CUDA_CHECK(cudaEventRecord(start, stream));
    fn();
    TENBIN_CUDA_CHECK(cudaEventRecord(stop, stream));
    TENBIN_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    TENBIN_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    if (r == 0 || ms < best) best = ms;
  }
  TENBIN_CUDA_CHECK(cudaEventDestroy(start));
  TENBIN_CUDA_CHECK(cudaEventDestroy(stop));
  return best;
}

}  // namespace

int64_t CudaBackend::batch_invariant_rows() const {
  return kMatvecMaxTokens;
}

Expected<backend::DeviceLimits> CudaBackend::measure_limits() {
  bind();
  backend::DeviceLimits limits;
  const std::optional<backend::MemoryInfo> memory = memory_info();
  if (!memory) return Status::Errorf("{}: cannot read free memory", name_);

  // Bandwidth: up to 4 GiB, at most a quarter of what is free.
  const int64_t probe_bytes =
      std::min<int64_t>(int64_t{4} << 30, memory->free_bytes / 4) / (1 << 20) * (1 << 20);
  if (probe_bytes < (int64_t{64} << 20)) {
    return Status::Errorf("{}: too little free memory for the bandwidth probe", name_);
  }
  Expected<backend::Buffer> buffer = allocate(static_cast<size_t>(probe_bytes));
  if (!buffer.ok()) return buffer.status();
  Expected<backend::Buffer> sink = allocate(sizeof(unsigned));
  if (!sink.ok()) return sink.status();
  int sms = 0;
  TENBIN_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device_));
  const int blocks = std::max(1, sms) * 8;
  const float read_ms = best_ms(stream_, 10, [&] {
    launch_read_probe(buffer->data(), probe_bytes, blocks, sink->as<unsigned>(), stream_);
  });
  limits.mem_read_gbs = static_cast<double>(probe_bytes) / (read_ms * 1e-3) / 1e9;
  buffer->reset();

  // Matmul peak: C[n, n] f32 = A[n, n] f16 x B[n, n] f16, n = 8192 (or less on a small GPU).
  int64_t n = 8192;
  while (n > 1024 && 2 * n * n * 2 + n * n * 4 > memory->free_bytes / 4) n /= 2;
  Expected<backend::Buffer> a = allocate(static_cast<size_t>(n * n * 2));
  Expected<backend::Buffer> b = allocate(static_cast<size_t>(n * n * 2));
  Expected<backend::Buffer> c = allocate(static_cast<size_t>(n * n * 4));
  if (!a.ok()) return a.status();
  if (!b.ok()) return b.status();
  if (!c.ok()) return c.status();
  const float gemm_ms = best_ms(stream_, 10, [&] {
    gemm_rows(cublas_, a->data(), CUDA_R_16F, n, n, b->data(), CUDA_R_16F, n, c->as<float>(), n);
  });
  limits.peak_matmul_gflops = 2.0 * static_cast<double>(n) * n * n / (gemm_ms * 1e-3) / 1e9;
  limits.matmul_kind = "f16 tensor cores (cuBLAS GEMM, f32 accumulate)";
  return limits;
}

}  // namespace tenbin::cuda
