// The scalar reference of every op: plain loops, written to be read, and the truth every SIMD
// variant is tested against. Same contracts (and numeric recipe) as kernels/ops.h. Float dots,
// norm and softmax sums run in double, in index order; block dots are exact integer sums.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/kernel_table.h"
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
// Stored K formats (scheme in quantize_k.cc): per sub-block scale (and Q4_K min) fitted by a
// small least-squares search, then quantized against the f16 super-block scale(s).
void quantize_q4_k(const float* x, void* dst, int64_t n);
void quantize_q5_k(const float* x, void* dst, int64_t n);
void quantize_q6_k(const float* x, void* dst, int64_t n);
// Q8_K (activations only): iscale = -127 / (signed value of largest magnitude),
// q = min(127, round(iscale * x)), d = 1 / iscale (f32), bsums = sums of 16-element groups.
void quantize_q8_k(const float* x, void* dst, int64_t n);

// Activation quantizers of the matmul recipe (ops.h): per 32-block, d = amax/127 stored as
// f16, q = round(x * id) with id = 127/amax from the unrounded amax (0 when amax == 0).
// Q8_1 also stores s = f16(d * sum(q)).
void quantize_act_q8_0(const float* x, void* dst, int64_t n);
void quantize_act_q8_1(const float* x, void* dst, int64_t n);

// Dot products of one weight row with one activation row in its dot partner format.
DType dot_partner(DType weight);            // activation format the weight type is dotted with
VecDotFn vec_dot_for(DType weight);         // nullptr for a type that is not a weight format
QuantizeActFn quantize_act_for(DType act);  // converts an f32 row to `act`
float vec_dot_f32(int64_t n, const void* w, const void* x);
float vec_dot_f16(int64_t n, const void* w, const void* x);
float vec_dot_bf16(int64_t n, const void* w, const void* x);
float vec_dot_q4_0(int64_t n, const void* w, const void* a);
float vec_dot_q4_1(int64_t n, const void* w, const void* a);
float vec_dot_q5_0(int64_t n, const void* w, const void* a);
float vec_dot_q5_1(int64_t n, const void* w, const void* a);
float vec_dot_q8_0(int64_t n, const void* w, const void* a);
float vec_dot_q2_k(int64_t n, const void* w, const void* a);
float vec_dot_q3_k(int64_t n, const void* w, const void* a);
float vec_dot_q4_k(int64_t n, const void* w, const void* a);
float vec_dot_q5_k(int64_t n, const void* w, const void* a);
float vec_dot_q6_k(int64_t n, const void* w, const void* a);

void dequantize_row(DType type, const void* src, float* dst, int64_t n);
Status quantize_row(DType type, const float* src, void* dst, int64_t n);

// Matmul: each token's row is converted once to the weight's dot partner, then one vec_dot_for
// per (row, token).
void matmul(const MatrixView& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool);
void rms_norm(const float* x, const float* weight, float* y, int64_t n, float eps);
// 1 / sqrtf(mean + eps) with mean = f32(sum of f32 squares accumulated in double / n). The sum's
// order is the recipe every rms_norm variant follows, so all give the same bits: element i goes
// to double lane i % kSquareLanes in order, then the lanes are added by halves (lane j + lane
// j + 8, then j + 4, j + 2, j + 1). Sixteen independent chains instead of one let SIMD variants
// run it at full speed (a single chain of dependent adds cost ~2 us per 2,048-wide row).
constexpr int kSquareLanes = 16;
float rms_norm_scale(const float* x, int64_t n, float eps);
// The recipe's parts: squares of x[begin, n) into their lanes, scalar; the lanes' halving sum
// (it overwrites them), the mean and the scale.
void add_square_tail(const float* x, int64_t begin, int64_t n, double* lanes);
float rms_norm_scale_from_lanes(double* lanes, int64_t n, float eps);
void rope(float* x, int n_heads, int head_dim, int pos, const RopeParams& params);
void softmax(float* x, int64_t n);
void silu_mul(const float* gate, const float* up, float* out, int64_t n);
void add(const float* a, const float* b, float* out, int64_t n);
void attention(const float* q, const KvView& kv, int64_t n_ctx, const AttentionShape& shape,
               float* out);
void attention_span(const float* q, int64_t q_stride, int64_t n_q, const KvView& kv,
                    int64_t first_n_ctx, const AttentionShape& shape, float* out,
                    int64_t out_stride);

// The slot of each position 0..n_ctx-1 of a sequence, in position order, through kv's block
// table (what every reference attention reads the cache by).
std::vector<int64_t> context_slots(const KvView& kv, int64_t n_ctx);

// attention() over a Q8_0 cache (either layout), the recipe ops.h states for it.
void attention_q8_0(const float* q, const KvView& kv, int64_t n_ctx, const AttentionShape& shape,
                    float* out);
// Quantizes one kv head's row x[head_dim] (quantize_q8_0) into slot `slot` of a Q8_0 K (is_key)
// or V array at `base`, where kernels/kv_layout.h puts its quants and scales.
void store_kv_q8_0(const float* x, KvLayout layout, bool is_key, void* base, int64_t slot,
                   int block_size, int64_t row_stride, int head_dim, int g);

// attention() over a BF16 cache (either layout), the recipe ops.h states for it.
void attention_bf16(const float* q, const KvView& kv, int64_t n_ctx, const AttentionShape& shape,
                    float* out);
// Rounds one kv head's row x[head_dim] (f32_to_bf16_ftz) into slot `slot` of a BF16 K (is_key)
// or V array at `base`, where kernels/kv_layout.h puts its values.
void store_kv_bf16(const float* x, KvLayout layout, bool is_key, void* base, int64_t slot,
                   int block_size, int64_t row_stride, int head_dim, int g);

// cos/sin of each rotated pair's angle at `pos` (rot_dim/2 values each), all in f32:
// theta_0 = pos, theta_{i+1} = theta_i * powf(base, -2/rot_dim), angle_i = freq_scale * theta_i.
// Shared by all RoPE variants so they differ only in how they apply the rotation.
void rope_angles(int pos, const RopeParams& params, float* cos_out, float* sin_out);

}  // namespace tenbin::kernels::ref
