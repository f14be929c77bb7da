// The compute ops the model graphs are written against. Each op dispatches at run time to the
// best variant this CPU supports (AVX-512, AVX2, or the scalar reference in kernels/ref);
// kernels/kernel_table.h exposes every variant so the op tests can compare them.
// Weights stay in their stored GGUF block format, except that a table may repack a matrix once
// at load time into an interleaved layout its matmul reads faster (pack_for_matmul).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <vector>

#include "kernels/kv_layout.h"
#include "tensor/dtype.h"
#include "util/large_alloc.h"
#include "util/status.h"
#include "util/thread_pool.h"

namespace tenbin::kernels {

// How a matrix's blocks are laid out in memory.
enum class WeightLayout : uint8_t {
  kRows,      // as stored in GGUF: row r starts at data + r * row_bytes(type, cols)
  kPacked16,  // groups of 16 rows interleaved block by block (kernels/packed_layout.h)
};

// A weight matrix: `rows` rows of `cols` elements of `type`, laid out as `layout` says.
struct MatrixView {
  DType type = DType::kF32;
  const void* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  WeightLayout layout = WeightLayout::kRows;
};

// A matrix repacked for the active kernel table: owns its bytes (allocate_large: page aligned,
// on huge pages where allowed); `view` points into them and stays valid while this object
// lives (moving it keeps the bytes).
struct PackedMatrix {
  std::unique_ptr<uint8_t, FreeLarge> bytes;
  MatrixView view;
};

// Repacks `w` (layout kRows) into the layout the active table's matmul reads fastest, or
// returns nullopt when that table has none for this type and shape (then use `w` as it is).
// matmul gives the same results for the packed view as for `w` within its stated recipe.
std::optional<PackedMatrix> pack_for_matmul(const MatrixView& w);

// Packs the row-wise concatenation of `parts` (same type and cols, layout kRows) as one matrix
// when the active table can pack every part, so several matmuls of the same input run as one;
// `part_views` (optional) receives each part's view inside the packed bytes.
std::optional<PackedMatrix> pack_concat_for_matmul(const std::vector<MatrixView>& parts,
                                                   std::vector<MatrixView>* part_views);

enum class RopeStyle {
  kNormal,  // adjacent pairs (x[2i], x[2i+1]): LLaMA in GGUF
  kNeox,    // halves (x[i], x[i + rot_dim/2]): Qwen2, GPT-NeoX
};

struct RopeParams {
  RopeStyle style = RopeStyle::kNormal;
  int rot_dim = 0;          // leading dims of each head that are rotated
  float freq_base = 10000;  // theta
  float freq_scale = 1;     // linear scaling: position multiplied by this
};

// Converts `n` elements (a multiple of the type's block size) of `type` to f32.
void dequantize_row(DType type, const void* src, float* dst, int64_t n);

// Quantizes `n` f32 values to `type` (for storing weights and caches, not the matmul recipe).
// Supported targets: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K, Q8_K.
Status quantize_row(DType type, const float* src, void* dst, int64_t n);

// y[t][r] = sum_c W[r][c] * x[t][c] for t < n_tokens; x is [n_tokens, cols] f32 row-major,
// y is [n_tokens, rows]. The result for one token does not depend on n_tokens (batch invariance).
// Numeric recipe (llama.cpp's, which our end-to-end references come from): each token's row is
// first converted to the weight type's dot partner: F32 -> f32, F16 -> f16, BF16 -> bf16;
// Q4_0/Q5_0/Q8_0 -> Q8_0 and Q4_1/Q5_1 -> Q8_1 (per 32-block: d = amax/127 stored as f16,
// q = round-half-even(x * 127/amax), 0 when amax == 0; Q8_1 adds s = f16(d * sum q));
// K formats -> Q8_K (per 256-block: iscale = -127/(signed value of largest |x|),
// q = min(127, round(iscale * x)), d = 1/iscale in f32, bsums of 16-element groups).
// Each block's dot is then an exact integer sum combined with the block's scales and mins;
// blocks and float products are summed in f32 (order unspecified).
void matmul(const MatrixView& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool);

// y = (x * scale) * weight, scale = 1 / sqrtf(mean(x^2) + eps) with the squares (f32) summed in
// double and the mean rounded to f32; over one row of n values.
void rms_norm(const float* x, const float* weight, float* y, int64_t n, float eps);

// Rotates x [n_heads, head_dim] in place for token position `pos`. Pair i's angle is
// freq_scale * theta_i, theta_0 = pos, theta_{i+1} = theta_i * powf(freq_base, -2/rot_dim),
// all in f32 (cumulative, as llama.cpp does); cos/sin in f32.
void rope(float* x, int n_heads, int head_dim, int pos, const RopeParams& params);

// In place, numerically stable (max subtracted).
void softmax(float* x, int64_t n);

// out = gate / (1 + expf(-gate)) * up, elementwise, in f32. Each element's result does not
// depend on n (callers pass several tokens' rows at once).
void silu_mul(const float* gate, const float* up, float* out, int64_t n);

// out = a + b, elementwise (out may alias a or b).
void add(const float* a, const float* b, float* out, int64_t n);

// Causal attention of one token's query heads over positions 0..n_ctx-1 of its sequence, read
// through a paged KV cache. q: [n_heads, head_dim] f32. kv.k, kv.v: element type kv.type (F32,
// F16, BF16 or Q8_0); position p lives in slot table[p / block_size] * block_size + p % block_size,
// laid out as kv.layout says (kernels/kv_layout.h). Query head h reads kv head h / (n_heads /
// n_kv_heads) (grouped-query attention). out: [n_heads, head_dim]. The SIMD variants read
// kHeadBlocks caches; a kRows cache goes to the reference. Numeric recipe (llama.cpp's non-flash
// path): scores = (K . q) * scale, softmax in f32 (max subtracted), out = sum_p prob_p * V_p,
// positions taken in order 0..n_ctx-1 whatever the table, so the result depends only on the rows'
// contents, not on where they are stored. With an F16 cache, q is rounded to f16 before the K dots
// and the probabilities to f16 before the V sum (f16 products summed in f32); with an F32 cache
// everything stays f32. A Q8_0 cache (head_dim a multiple of 32) is read in int8: each query head
// is quantized per 32 elements by the activation recipe (quantize_act_q8_0: scale d_q, quants q_q);
// the score of position p is sum over the head's groups g, in order from 0, of fma(float(isum_g),
// d_k * d_q, acc), isum_g the exact integer dot of the group's K and query quants, times scale; the
// probabilities stay f32; out[d] = sum over p, in order from 0, of fma(prob_p * d_v, float(q_v[d]),
// acc) with d_v the scale of V's group holding d. All in f32, so every variant that keeps these
// operations gives the reference's bits up to the softmax. A BF16 cache (head_dim and block_size
// even) is read in the pair products of AVX-512 BF16's vdpbf16ps: q and the probabilities are
// rounded to bf16 (ties to even, magnitudes below FLT_MIN to +0: f32_to_bf16_ftz); the score of
// position p starts from zero and, for each element pair (2m, 2m + 1) in order, adds q[2m+1] *
// k[2m+1], then q[2m] * k[2m] (a product of two bf16 is exact in f32; each sum is rounded), times
// scale; out[d] likewise over position pairs (2r, 2r + 1) from 0: + prob[2r+1] * V[2r+1][d], then +
// prob[2r] * V[2r][d], a partner past the context adding 0 * 0. vdpbf16ps also flushes a denormal
// sum to zero, the others do not, so the variants can differ only where a partial sum falls below
// FLT_MIN.
struct KvView {
  const void* k = nullptr;
  const void* v = nullptr;
  const int32_t* block_table = nullptr;  // at least ceil(n_ctx / block_size) block ids
  int block_size = 16;                   // rows per block
  int64_t row_stride = 0;                // elements per slot: n_kv_heads * head_dim
  DType type = DType::kF32;              // F32, F16, BF16 or Q8_0
  KvLayout layout = KvLayout::kRows;
};
struct AttentionShape {
  int n_heads = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  float scale = 1;  // usually 1/sqrt(head_dim)
};
void attention(const float* q, const KvView& kv, int64_t n_ctx, const AttentionShape& shape,
               float* out);

// attention() of n_q consecutive tokens of one sequence at once: token i reads its queries at
// q + i * q_stride, attends over positions 0..first_n_ctx + i - 1 and writes out + i * out_stride.
// Each token's result is bitwise the one attention() gives it alone (the tokens share loads of
// K and V, never arithmetic), so how a prefill is cut into spans does not change any output.
void attention_span(const float* q, int64_t q_stride, int64_t n_q, const KvView& kv,
                    int64_t first_n_ctx, const AttentionShape& shape, float* out,
                    int64_t out_stride);

}  // namespace tenbin::kernels
