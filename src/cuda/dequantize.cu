// Weight rows (GGUF layout kRows) to f32 or f16: the embedding lookup and the prefill GEMM's f16
// copy of a quantized matrix. Each thread decodes 8 consecutive elements with the reference's
// formulas in f32 (kernels/ref/dequantize.cc; products and differences rounded as there), so
// embed is exact; the f16 copy then rounds each value to nearest even.
#include <cuda_fp16.h>

#include <algorithm>

#include "cuda/block_decode.cuh"
#include "cuda/check.h"
#include "cuda/device_util.cuh"
#include "cuda/kernel_launch.cuh"
#include "cuda/launch.h"
#include "tensor/blocks.h"

namespace tenbin::cuda {
namespace {

template <DType T>
__global__ void embed_kernel(const uint8_t* table, int64_t row_bytes, int64_t cols,
                             const int32_t* tokens, int64_t n_tokens, float* x) {
  const int64_t groups_per_row = (cols + kGroup - 1) / kGroup;
  const int64_t total = n_tokens * groups_per_row;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t t = i / groups_per_row;
    const int64_t e0 = (i % groups_per_row) * kGroup;
    const int n_valid = cols - e0 < kGroup ? static_cast<int>(cols - e0) : kGroup;
    float v[kGroup];
    decode8<T>(table + tokens[t] * row_bytes, e0, n_valid, v);
    float* dst = x + t * cols + e0;
    for (int j = 0; j < n_valid; ++j) dst[j] = v[j];
  }
}

template <DType T>
__global__ void dequantize_f16_kernel(const uint8_t* w, int64_t row_bytes, int64_t n_rows,
                                      int64_t cols, __half* out) {
  const int64_t groups_per_row = (cols + kGroup - 1) / kGroup;
  const int64_t total = n_rows * groups_per_row;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / groups_per_row;
    const int64_t e0 = (i % groups_per_row) * kGroup;
    const int n_valid = cols - e0 < kGroup ? static_cast<int>(cols - e0) : kGroup;
    float v[kGroup];
    decode8<T>(w + r * row_bytes, e0, n_valid, v);
    __half* dst = out + r * cols + e0;
    for (int j = 0; j < n_valid; ++j) dst[j] = __float2half_rn(v[j]);
  }
}

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 1 << 16;  // grid-stride beyond this

unsigned grid_for(int64_t items) {
  return static_cast<unsigned>(std::min<int64_t>(kMaxBlocks, (items + kThreads - 1) / kThreads));
}

int64_t bytes_of_row(DType type, int64_t cols) {
  return row_bytes(type, cols).value_or(0);
}

// Calls f(std::integral_constant<DType, T>) for the supported weight type `type`.
template <class F>
void dispatch_weight_type(DType type, F&& f) {
  switch (type) {
    case DType::kF32:
      return f.template operator()<DType::kF32>();
    case DType::kF16:
      return f.template operator()<DType::kF16>();
    case DType::kBF16:
      return f.template operator()<DType::kBF16>();
    case DType::kQ8_0:
      return f.template operator()<DType::kQ8_0>();
    case DType::kQ4_0:
      return f.template operator()<DType::kQ4_0>();
    case DType::kQ4_1:
      return f.template operator()<DType::kQ4_1>();
    case DType::kQ5_0:
      return f.template operator()<DType::kQ5_0>();
    case DType::kQ5_1:
      return f.template operator()<DType::kQ5_1>();
    case DType::kQ2_K:
      return f.template operator()<DType::kQ2_K>();
    case DType::kQ3_K:
      return f.template operator()<DType::kQ3_K>();
    case DType::kQ4_K:
      return f.template operator()<DType::kQ4_K>();
    case DType::kQ5_K:
      return f.template operator()<DType::kQ5_K>();
    case DType::kQ6_K:
      return f.template operator()<DType::kQ6_K>();
    default:
      fatal_error("weight type not supported by the CUDA kernels", __FILE__, __LINE__);
  }
}

}  // namespace

bool weight_type_supported(DType type) {
  switch (type) {
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16:
    case DType::kQ8_0:
    case DType::kQ4_0:
    case DType::kQ4_1:
    case DType::kQ5_0:
    case DType::kQ5_1:
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
      return true;
    default:
      return false;
  }
}

void launch_embed(DType type, const void* table, int64_t cols, const int32_t* tokens,
                  int64_t n_tokens, float* x, cudaStream_t stream) {
  if (n_tokens <= 0 || cols <= 0) return;
  const int64_t items = n_tokens * ((cols + kGroup - 1) / kGroup);
  const int64_t row_bytes = bytes_of_row(type, cols);
  dispatch_weight_type(type, [&]<DType T>() {
    launch_kernel<embed_kernel<T>>(grid_for(items), kThreads, 0, stream,
                                   static_cast<const uint8_t*>(table), row_bytes, cols, tokens,
                                   n_tokens, x);
  });
  TENBIN_CUDA_CHECK_LAUNCH("embed kernel", stream);
}

void launch_dequantize_f16(DType type, const void* w, int64_t row_begin, int64_t n_rows,
                           int64_t cols, void* out, cudaStream_t stream) {
  if (n_rows <= 0 || cols <= 0) return;
  const int64_t items = n_rows * ((cols + kGroup - 1) / kGroup);
  const int64_t row_bytes = bytes_of_row(type, cols);
  const uint8_t* first = static_cast<const uint8_t*>(w) + row_begin * row_bytes;
  dispatch_weight_type(type, [&]<DType T>() {
    launch_kernel<dequantize_f16_kernel<T>>(grid_for(items), kThreads, 0, stream, first, row_bytes,
                                            n_rows, cols, static_cast<__half*>(out));
  });
  TENBIN_CUDA_CHECK_LAUNCH("dequantize_f16 kernel", stream);
}

}  // namespace tenbin::cuda
