// The scalar reference of every op: plain loops, written to be read, and the truth every SIMD
// variant is tested against. Same contracts as kernels/ops.h. Accumulations that decide
// accuracy (dots, norms, softmax sums) run in double, in index order.
#pragma once

#include <cstdint>

#include "kernels/ops.h"

namespace tenbin::kernels::ref {

// Dequantize one row of n elements (n a multiple of the block size) of each format.
void dequantize_f32(const void* src, float* dst, int64_t n);
void dequantize_f16(const void* src, float* dst, int64_t n);
void dequantize_bf16(const void* src, float* dst, int64_t n);
void dequantize_q4_0(const void* src, float* dst, int64_t n);
void dequantize_q4_1(const void* src, float* dst, int64_t n);
void dequantize_q5_0(const void* src, float* dst, int64_t n);
void dequantize_q5_1(const void* src, float* dst, int64_t n);
void dequantize_q8_0(const void* src, float* dst, int64_t n);
void dequantize_q8_1(const void* src, float* dst, int64_t n);
void dequantize_q2_k(const void* src, float* dst, int64_t n);
void dequantize_q3_k(const void* src, float* dst, int64_t n);
void dequantize_q4_k(const void* src, float* dst, int64_t n);
void dequantize_q5_k(const void* src, float* dst, int64_t n);
void dequantize_q6_k(const void* src, float* dst, int64_t n);
void dequantize_q8_k(const void* src, float* dst, int64_t n);

// Quantizers. Rounding is to nearest, ties to even (std::nearbyint in the default FP mode).
void quantize_f32(const float* x, void* dst, int64_t n);
void quantize_f16(const float* x, void* dst, int64_t n);
void quantize_bf16(const float* x, void* dst, int64_t n);
void quantize_q8_0(const float* x, void* dst, int64_t n);  // d = amax/127, q in [-127, 127]
void quantize_q4_0(const float* x, void* dst, int64_t n);  // d = signed max / -8
void quantize_q8_k(const float* x, void* dst, int64_t n);  // d = amax/127 (f32), bsums

void dequantize_row(DType type, const void* src, float* dst, int64_t n);
Status quantize_row(DType type, const float* src, void* dst, int64_t n);

// Matmul: each weight row is dequantized to f32, then dotted with each token's row in double,
// c = 0..cols-1 in order, rounded to f32 at the end.
void matmul(const MatrixView& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool);
void rms_norm(const float* x, const float* weight, float* y, int64_t n, float eps);
void rope(float* x, int n_heads, int head_dim, int pos, const RopeParams& params);
void softmax(float* x, int64_t n);
void silu_mul(const float* gate, const float* up, float* out, int64_t n);
void add(const float* a, const float* b, float* out, int64_t n);
void attention(const float* q, const void* k, const void* v, int64_t n_ctx,
               const AttentionShape& shape, float* out);

// cos/sin of each rotated pair's angle at `pos` (rot_dim/2 values each); shared by all RoPE
// variants so they differ only in how they apply the rotation.
void rope_angles(int pos, const RopeParams& params, float* cos_out, float* sin_out);

}  // namespace tenbin::kernels::ref
