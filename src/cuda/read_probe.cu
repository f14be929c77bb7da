// The device-memory read probe of `tenbin perf --device cuda`: every thread streams 16-byte
// loads over its grid-stride share of a large buffer, four independent loads in flight per
// iteration, and folds them into one word per thread so the loads cannot be dropped.
#include "cuda/check.h"
#include "cuda/kernel_launch.cuh"
#include "cuda/launch.h"

namespace tenbin::cuda {
namespace {

__global__ void read_probe_kernel(const uint4* __restrict__ data, int64_t n, unsigned* sink) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  unsigned acc = 0;
  for (; i + 3 * stride < n; i += 4 * stride) {
    const uint4 a = __ldcs(data + i);
    const uint4 b = __ldcs(data + i + stride);
    const uint4 c = __ldcs(data + i + 2 * stride);
    const uint4 d = __ldcs(data + i + 3 * stride);
    acc ^= a.x ^ a.y ^ a.z ^ a.w ^ b.x ^ b.y ^ b.z ^ b.w;
    acc ^= c.x ^ c.y ^ c.z ^ c.w ^ d.x ^ d.y ^ d.z ^ d.w;
  }
  for (; i < n; i += stride) {
    const uint4 a = __ldcs(data + i);
    acc ^= a.x ^ a.y ^ a.z ^ a.w;
  }
  // Written only when the (zero-filled) data would make it non-zero: no store traffic.
  if (acc == 0x9e3779b9u) *sink = acc;
}

}  // namespace

void launch_read_probe(const void* data, int64_t bytes, int blocks, unsigned* sink,
                       cudaStream_t stream) {
  launch_kernel<read_probe_kernel>(blocks, 256, 0, stream, static_cast<const uint4*>(data),
                                   bytes / 16, sink);
  TENBIN_CUDA_CHECK_LAUNCH("read_probe_kernel", stream);
}

}  // namespace tenbin::cuda
