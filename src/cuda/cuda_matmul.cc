// CudaBackend::matmul: the decode kernels (matvec_*.cu) for up to kMatvecMaxTokens rows of
// activations, which follow the CPU recipe of kernels/ops.h and are batch invariant; above that,
// the cuBLAS GEMM (gemm.h) for F32/F16/BF16 weights (the same recipe up to summation order), and
// for block-quantized weights the decode kernels again, kMatvecMaxTokens rows at a time, so
// that their activations are quantized as the CPU quantizes them. The alternative for those,
// expanding the weights to f16 and multiplying f16 activations with cuBLAS (faster prefill, a
// different recipe: a token's result then depends on which path its batch took), is chosen with
// TENBIN_CUDA_QUANT_GEMM=f16 in the environment until an int8 tensor-core kernel with the CPU's
// recipe replaces both.
#include <algorithm>
#include <cstdint>

#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "cuda/gemm.h"
#include "cuda/launch.h"

namespace tenbin::cuda {
namespace {

bool is_block_quantized(DType type) {
  return type != DType::kF32 && type != DType::kF16 && type != DType::kBF16;
}

}  // namespace

void CudaBackend::matmul(const kernels::MatrixView& w, const float* x, int64_t n_rows, float* y) {
  if (n_rows <= 0 || w.rows <= 0) return;
  bind();
  TENBIN_CUDA_REQUIRE(weight_type_supported(w.type),
                      "matmul: weight type not supported by the CUDA backend");
  TENBIN_CUDA_REQUIRE(w.layout == kernels::WeightLayout::kRows,
                      "matmul: weights must be in the GGUF row layout (make_resident)");
  const Status scratch = reserve_matmul_scratch(w.cols, n_rows);
  if (!scratch.ok()) fatal_error(scratch.message().c_str(), __FILE__, __LINE__);
  if (n_rows <= kMatvecMaxTokens) {
    matmul_decode(w, x, n_rows, y);
  } else if (is_block_quantized(w.type) && !quantized_gemm_) {
    // The CPU recipe for every batch: the decode kernels, kMatvecMaxTokens rows at a time.
    for (int64_t r0 = 0; r0 < n_rows; r0 += kMatvecMaxTokens) {
      matmul_decode(w, x + r0 * w.cols, std::min(kMatvecMaxTokens, n_rows - r0), y + r0 * w.rows);
    }
  } else {
    matmul_gemm(w, x, n_rows, y);
  }
}

void CudaBackend::matmul_decode(const kernels::MatrixView& w, const float* x, int64_t n_rows,
                                float* y) {
  if (is_block_quantized(w.type)) {
    auto* q = act_q_.as<int8_t>();
    auto* d = act_d_.as<float>();
    switch (activation_format(w.type)) {
      case ActFormat::kQ8_0:
        launch_quantize_q8_0(x, n_rows, w.cols, q, d, stream_);
        break;
      case ActFormat::kQ8_1:
        launch_quantize_q8_1(x, n_rows, w.cols, q, d, stream_);
        break;
      case ActFormat::kQ8_K:
        launch_quantize_q8_k(x, n_rows, w.cols, q, d, stream_);
        break;
    }
    launch_matvec_quant(w.type, w.data, w.rows, w.cols, q, d, n_rows, y, stream_);
  } else if (w.type == DType::kF32) {
    launch_matvec_float(w.type, w.data, w.rows, w.cols, x, n_rows, y, stream_);
  } else {
    launch_convert(x, n_rows * w.cols, w.type, act_16_.data(), stream_);
    launch_matvec_float(w.type, w.data, w.rows, w.cols, act_16_.data(), n_rows, y, stream_);
  }
}

void CudaBackend::matmul_gemm(const kernels::MatrixView& w, const float* x, int64_t n_rows,
                              float* y) {
  switch (w.type) {
    case DType::kF32:
      gemm_rows(cublas_, w.data, CUDA_R_32F, w.rows, w.cols, x, CUDA_R_32F, n_rows, y, w.rows);
      return;
    case DType::kF16:
      launch_convert(x, n_rows * w.cols, DType::kF16, act_16_.data(), stream_);
      gemm_rows(cublas_, w.data, CUDA_R_16F, w.rows, w.cols, act_16_.data(), CUDA_R_16F, n_rows, y,
                w.rows);
      return;
    case DType::kBF16:
      launch_convert(x, n_rows * w.cols, DType::kBF16, act_16_.data(), stream_);
      gemm_rows(cublas_, w.data, CUDA_R_16BF, w.rows, w.cols, act_16_.data(), CUDA_R_16BF, n_rows,
                y, w.rows);
      return;
    default:
      break;
  }
  // Block formats: expand a slice of rows to f16 at a time, then multiply it.
  launch_convert(x, n_rows * w.cols, DType::kF16, act_16_.data(), stream_);
  const int64_t row_f16 = w.cols * 2;
  if (weights_f16_.capacity() < static_cast<size_t>(row_f16)) {
    weights_f16_.reserve_or_die(static_cast<size_t>(row_f16), stream_,
                                "the f16 copy of a quantized matrix (prefill)");
  }
  const int64_t slice_rows =
      std::min<int64_t>(w.rows, static_cast<int64_t>(weights_f16_.capacity()) / row_f16);
  for (int64_t r0 = 0; r0 < w.rows; r0 += slice_rows) {
    const int64_t m = std::min(slice_rows, w.rows - r0);
    // Stream order keeps the next slice's expansion after this slice's GEMM has read it.
    launch_dequantize_f16(w.type, w.data, r0, m, w.cols, weights_f16_.data(), stream_);
    gemm_rows(cublas_, weights_f16_.data(), CUDA_R_16F, m, w.cols, act_16_.data(), CUDA_R_16F,
              n_rows, y + r0, w.rows);
  }
}

}  // namespace tenbin::cuda
