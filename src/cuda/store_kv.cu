// Writes each token's K and V rows into its slot of a paged cache layer (rows layout), converted
// to the cache type as the reference stores them: f16 rounded to nearest even (tensor/half.h
// f32_to_fp16), f32 as is, bf16 rounded to nearest even with magnitudes below FLT_MIN flushed
// to +0 (f32_to_bf16_ftz), or Q8_0 blocks of 32 (kernels/ref/quantize.cc quantize_q8_0:
// d = amax / 127, q = round-half-even(x * (1 / d)), d stored as f16).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "cuda/check.h"
#include "cuda/device_util.cuh"
#include "cuda/kernel_launch.cuh"
#include "cuda/launch.h"
#include "tensor/blocks.h"

namespace tenbin::cuda {
namespace {

constexpr int kThreads = 256;

template <class T>
__device__ __forceinline__ T convert(float v) {
  if constexpr (std::is_same_v<T, __half>) {
    return __float2half_rn(v);
  } else if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return fabsf(v) < 1.17549435e-38f ? __float2bfloat16_rn(0.0f) : __float2bfloat16_rn(v);
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

// One warp per 32-element group of a row: lane j quantizes element j of K's and of V's group.
__global__ void store_kv_q8_0_kernel(const float* k, const float* v, int64_t n_tokens,
                                     int64_t row_stride, const int32_t* slots, uint8_t* k_cache,
                                     uint8_t* v_cache) {
  constexpr int kWarpsPerBlock = kThreads / kWarp;
  const int64_t groups_per_row = row_stride / kQK;
  const int64_t group = blockIdx.x * static_cast<int64_t>(kWarpsPerBlock) + threadIdx.x / kWarp;
  if (group >= n_tokens * groups_per_row) return;  // whole warps leave together
  const int lane = threadIdx.x % kWarp;
  const int64_t t = group / groups_per_row, j = group % groups_per_row;
  const int32_t slot = slots[t];
  if (slot < 0) return;
  const int64_t dst = (static_cast<int64_t>(slot) * groups_per_row + j) * sizeof(BlockQ8_0);
#pragma unroll
  for (int which = 0; which < 2; ++which) {
    const float x = (which == 0 ? k : v)[t * row_stride + j * kQK + lane];
    uint8_t* block = (which == 0 ? k_cache : v_cache) + dst;
    float amax = fabsf(x);
#pragma unroll
    for (int offset = kWarp / 2; offset > 0; offset /= 2) {
      amax = fmaxf(amax, __shfl_xor_sync(kFullMask, amax, offset));
    }
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? __fdiv_rn(1.0f, d) : 0.0f;
    block[2 + lane] = static_cast<uint8_t>(static_cast<int8_t>(__float2int_rn(__fmul_rn(x, id))));
    if (lane == 0) {
      const __half h = __float2half_rn(d);
      memcpy(block, &h, 2);
    }
  }
}

}  // namespace

void launch_store_kv(const float* k, const float* v, int64_t n_tokens, int64_t row_stride,
                     const int32_t* slots, void* k_cache, void* v_cache, DType cache_type,
                     cudaStream_t stream) {
  if (n_tokens <= 0 || row_stride <= 0) return;
  const int64_t total = n_tokens * row_stride;
  const auto grid =
      static_cast<unsigned>(std::min<int64_t>(1 << 16, (total + kThreads - 1) / kThreads));
  switch (cache_type) {
    case DType::kF16:
      launch_kernel<store_kv_kernel<__half>>(grid, kThreads, 0, stream, k, v, n_tokens, row_stride,
                                             slots, static_cast<__half*>(k_cache),
                                             static_cast<__half*>(v_cache));
      break;
    case DType::kBF16:
      launch_kernel<store_kv_kernel<__nv_bfloat16>>(
          grid, kThreads, 0, stream, k, v, n_tokens, row_stride, slots,
          static_cast<__nv_bfloat16*>(k_cache), static_cast<__nv_bfloat16*>(v_cache));
      break;
    case DType::kF32:
      launch_kernel<store_kv_kernel<float>>(grid, kThreads, 0, stream, k, v, n_tokens, row_stride,
                                            slots, static_cast<float*>(k_cache),
                                            static_cast<float*>(v_cache));
      break;
    case DType::kQ8_0: {
      TENBIN_CUDA_REQUIRE(row_stride % kQK == 0, "store_kv: a q8_0 row is whole blocks of 32");
      const int64_t groups = total / kQK;
      launch_kernel<store_kv_q8_0_kernel>(
          blocks_for(groups, kThreads / kWarp), kThreads, 0, stream, k, v, n_tokens, row_stride,
          slots, static_cast<uint8_t*>(k_cache), static_cast<uint8_t*>(v_cache));
      break;
    }
    default:
      fatal_error("store_kv: KV cache type must be f16, bf16, f32 or q8_0", __FILE__, __LINE__);
  }
  TENBIN_CUDA_CHECK_LAUNCH("store_kv kernel", stream);
}

}  // namespace tenbin::cuda
