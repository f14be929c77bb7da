// Writes each token's K and V rows into its slot of a paged cache layer, converted to the cache
// type (f16 rounded to nearest even, as tensor/half.h's f32_to_fp16, or f32 as is).
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdint>

#include "cuda/check.h"
#include "cuda/device_util.cuh"
#include "cuda/kernel_launch.cuh"
#include "cuda/launch.h"

namespace tenbin::cuda {
namespace {

constexpr int kThreads = 256;

template <class T>
__device__ __forceinline__ T convert(float v) {
  if constexpr (sizeof(T) == 2) {
    return __float2half_rn(v);
  } else {
    return v;
  }
}

template <class T>
__global__ void store_kv_kernel(const float* k, const float* v, int64_t n_tokens,
                                int64_t row_stride, const int32_t* slots, T* k_cache, T* v_cache) {
  const int64_t total = n_tokens * row_stride;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t t = i / row_stride, j = i % row_stride;
    const int32_t slot = slots[t];
    if (slot < 0) continue;
    const int64_t dst = static_cast<int64_t>(slot) * row_stride + j;
    k_cache[dst] = convert<T>(k[i]);
    v_cache[dst] = convert<T>(v[i]);
  }
}

}  // namespace

void launch_store_kv(const float* k, const float* v, int64_t n_tokens, int64_t row_stride,
                     const int32_t* slots, void* k_cache, void* v_cache, bool cache_f16,
                     cudaStream_t stream) {
  if (n_tokens <= 0 || row_stride <= 0) return;
  const int64_t total = n_tokens * row_stride;
  const auto grid =
      static_cast<unsigned>(std::min<int64_t>(1 << 16, (total + kThreads - 1) / kThreads));
  if (cache_f16) {
    launch_kernel<store_kv_kernel<__half>>(grid, kThreads, 0, stream, k, v, n_tokens, row_stride,
                                           slots, static_cast<__half*>(k_cache),
                                           static_cast<__half*>(v_cache));
  } else {
    launch_kernel<store_kv_kernel<float>>(grid, kThreads, 0, stream, k, v, n_tokens, row_stride,
                                          slots, static_cast<float*>(k_cache),
                                          static_cast<float*>(v_cache));
  }
  TENBIN_CUDA_CHECK_LAUNCH("store_kv kernel", stream);
}

}  // namespace tenbin::cuda
