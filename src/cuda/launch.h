// Host-side launchers of the CUDA backend's kernels, one .cu file per group, in plain types so
// that the .cc files never see device code and the .cu files never see backend.h. Each launcher
// enqueues its kernel(s) on `stream` and checks the launch; none synchronizes or allocates.
// All activations are f32, row-major; every pointer is device memory unless named host_*.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/token_draw.h"
#include "kernels/token_logprobs.h"
#include "kernels/token_select.h"
#include "tensor/dtype.h"

namespace tenbin::cuda {

// ---- dequantize.cu: weight rows (layout kRows) of F32, F16, BF16 and every block format ----

// True for the weight types every kernel of this backend reads.
bool weight_type_supported(DType type);

// x[t] = row tokens[t] of `table` as f32, for t < n_tokens; x is [n_tokens, cols].
void launch_embed(DType type, const void* table, int64_t cols, const int32_t* tokens,
                  int64_t n_tokens, float* x, cudaStream_t stream);

// out = rows [row_begin, row_begin + n_rows) of `w` as f16 (round to nearest even),
// [n_rows, cols] row-major: the prefill GEMM's copy of a quantized matrix.
void launch_dequantize_f16(DType type, const void* w, int64_t row_begin, int64_t n_rows,
                           int64_t cols, void* out, cudaStream_t stream);

// ---- act_convert.cu: activations in the matmul recipe's dot-partner formats (ops.h) ----

// Per 32-block of each row: d = f16(amax / 127), q = round-half-even(x * 127 / amax) (0 when
// amax == 0). q: [n_rows, cols] int8, d: [n_rows, cols / 32] f32 holding the f16-rounded d.
void launch_quantize_q8_0(const float* x, int64_t n_rows, int64_t cols, int8_t* q, float* d,
                          cudaStream_t stream);
// Q8_0 plus s = f16(d * sum of the block's q), d unrounded as the reference takes it: the Q8_1
// partner of Q4_1/Q5_1. d: [n_rows, cols / 32][2] f32 holding the f16-rounded d and s.
void launch_quantize_q8_1(const float* x, int64_t n_rows, int64_t cols, int8_t* q, float* d,
                          cudaStream_t stream);
// Per 256-block: iscale = -127 / (the first value of largest magnitude), q = min(127,
// round-half-even(iscale * x)), d = 1 / iscale (all zero when the block is). Layout as above with
// d: [n_rows, cols / 256].
void launch_quantize_q8_k(const float* x, int64_t n_rows, int64_t cols, int8_t* q, float* d,
                          cudaStream_t stream);
// out[i] = x[i] rounded to `type` (F16 or BF16, nearest even) for i < n.
void launch_convert(const float* x, int64_t n, DType type, void* out, cudaStream_t stream);

// ---- matvec_quant.cu, matvec_float.cu: decode matmuls (n_tokens <= kMatvecMaxTokens) ----

// Each warp reads its weight row once for all n_tokens tokens; a token's result does not depend
// on n_tokens or on the other tokens (batch invariance).
inline constexpr int64_t kMatvecMaxTokens = 8;

// The activation format of a block-quantized weight type's dot (kernels/ops.h): Q8_0 for Q4_0,
// Q5_0 and Q8_0, Q8_1 for Q4_1 and Q5_1, Q8_K for the K formats.
enum class ActFormat { kQ8_0, kQ8_1, kQ8_K };
ActFormat activation_format(DType type);

// y[t][r] = W[r] . x[t] for block-quantized weights against activations in their
// activation_format (q, d of launch_quantize_q8_0 / _q8_1 / _q8_k).
void launch_matvec_quant(DType type, const void* w, int64_t rows, int64_t cols, const int8_t* q,
                         const float* d, int64_t n_tokens, float* y, cudaStream_t stream);
// Q4_1, Q5_1 and Q5_K: matvec_lanes.cu, which sums in the CPU recipe's lane order (the shared
// models of these formats flip tokens under any other); launch_matvec_quant hands them there.
bool matvec_in_lane_order(DType type);
void launch_matvec_lanes(DType type, const void* w, int64_t rows, int64_t cols, const int8_t* q,
                         const float* d, int64_t n_tokens, float* y, cudaStream_t stream);
// y[t][r] = W[r] . x[t] for F32 / F16 / BF16 weights; x is [n_tokens, cols] of the same type
// (f32, or f16 / bf16 from launch_convert), products summed in f32.
void launch_matvec_float(DType type, const void* w, int64_t rows, int64_t cols, const void* x,
                         int64_t n_tokens, float* y, cudaStream_t stream);

// ---- elementwise.cu ----

// cudaSuccess when this build has kernels the current device can run (cudaErrorNoKernelImage-
// ForDevice or similar when it was compiled for other architectures).
cudaError_t probe_kernel_image();

void launch_add_bias(float* rows, const float* bias, int64_t n_rows, int64_t n,
                     cudaStream_t stream);
void launch_copy_columns(const float* src, int64_t src_stride, float* dst, int64_t dst_stride,
                         int64_t n_rows, int64_t n_cols, cudaStream_t stream);
// out[r][i] = silu(gate[r][i]) * up[r][i]; gate and up rows in_stride apart, out rows n apart.
void launch_silu_mul(const float* gate, const float* up, int64_t in_stride, float* out,
                     int64_t n_rows, int64_t n, cudaStream_t stream);
void launch_add(const float* a, const float* b, float* out, int64_t n, cudaStream_t stream);
// dst[i] = src[rows[i]] for i < n_out; rows of n values.
void launch_gather_rows(const float* src, int64_t n, const int32_t* rows, int64_t n_out, float* dst,
                        cudaStream_t stream);

// ---- token_select.cu ----

// Backend::select_top_k: for each row r < n_rows of logits ([n_rows, n_vocab]) with
// top_k[r] > 0, applies edits[edit_begin[r], edit_begin[r + 1]) and writes the row's top_k[r]
// best tokens to best[r * max_k, ...), best first: kernels/token_select.h's recipe and order,
// bit for bit (top_k[r] <= kernels::kMaxSelectK). With top_k[r] == kDrawFromRow (and `draw`),
// the edits and then kernels::draw_from_row with draw[r]: its token to best[r * max_k].
void launch_select_top_k(float* logits, int64_t n_vocab, int64_t n_rows, const int32_t* top_k,
                         const int32_t* edit_begin, const kernels::LogitEdit* edits,
                         const kernels::DrawParams* draw, int64_t max_k,
                         kernels::TokenCandidate* best, cudaStream_t stream);
// Backend::raw_logprobs: for each row r < n_rows with logprobs[r] >= 0, rows[r] =
// kernels::row_logprobs(row r, logprobs[r]) (the same tokens and logits, log_z within rounding
// of the host's double sum) and edit_raw[e] = the row's raw logit of edits[e].token (NaN outside
// the row) for e in [edit_begin[r], edit_begin[r + 1]).
void launch_raw_logprobs(const float* logits, int64_t n_vocab, int64_t n_rows,
                         const int32_t* logprobs, const int32_t* edit_begin,
                         const kernels::LogitEdit* edits, kernels::RowLogprobs* rows,
                         float* edit_raw, cudaStream_t stream);

// ---- rms_norm.cu ----

// Each of n_rows rows: y = (x * s) * weight, s = 1 / sqrtf(f32(sum of f32 squares in double / n)
// + eps): the reference's recipe, so results match it up to the order of the double sum.
void launch_rms_norm(const float* x, const float* weight, float* y, int64_t n_rows, int64_t n,
                     float eps, cudaStream_t stream);

// ---- rope.cu ----

struct RopeArgs {
  bool neox = false;  // pairs (i, i + rot_dim/2) instead of (2i, 2i+1)
  int rot_dim = 0;
  float theta_scale = 1;  // powf(freq_base, -2 / rot_dim), computed on the host like ref
  float freq_scale = 1;
};
// x [n_tokens, n_heads * head_dim] rotated in place at positions[t].
void launch_rope(float* x, int64_t n_tokens, int n_heads, int head_dim, const int32_t* positions,
                 const RopeArgs& args, cudaStream_t stream);

// ---- store_kv.cu ----

// Row t of k and v ([n_tokens, row_stride] f32) into row slots[t] of k_cache and v_cache (rows
// layout, kernels/kv_layout.h) as `cache_type` (F16, F32, BF16 or Q8_0) is stored by the
// reference. Negative slots are skipped.
void launch_store_kv(const float* k, const float* v, int64_t n_tokens, int64_t row_stride,
                     const int32_t* slots, void* k_cache, void* v_cache, DType cache_type,
                     cudaStream_t stream);

// ---- attention.cu ----

struct AttentionArgs {
  const float* q = nullptr;  // [n_tokens, n_heads * head_dim]
  float* out = nullptr;      // [n_tokens, n_heads * head_dim]
  const void* k = nullptr;   // cache rows of row_stride elements of cache_type
  const void* v = nullptr;
  DType cache_type = DType::kF16;  // F16, F32, BF16 or Q8_0
  int64_t row_stride = 0;
  int block_size = 16;
  const int32_t* positions = nullptr;     // device, [n_tokens]
  const int32_t* seq_ids = nullptr;       // device, [n_tokens]
  const int32_t* block_tables = nullptr;  // device, [n_seqs, table_width]
  int64_t table_width = 0;
  const int32_t* host_positions = nullptr;  // the same positions on the host (for grid sizes)
  int64_t n_tokens = 0;
  int n_heads = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  float scale = 1;
  float* scratch = nullptr;  // scores, segment sums and partial outputs of long contexts
  int64_t scratch_floats = 0;
};
// Floats of scratch that attention over `n_tokens` tokens whose longest context is max_ctx
// positions can use; any amount >= attention_min_scratch works (tokens are then processed in
// chunks).
int64_t attention_scratch_floats(int64_t n_tokens, int64_t max_ctx, int n_heads, int head_dim);
int64_t attention_min_scratch(int64_t max_ctx, int n_heads, int head_dim);
// Causal paged attention (kernels::attention) of every token; head_dim <= 256. F16 and F32
// caches: attention.cu; BF16 and Q8_0 caches: attention_exact.cu (launch_attention hands them
// there).
void launch_attention(const AttentionArgs& args, cudaStream_t stream);
// Floats of scratch attention_exact.cu needs per (token, head) of a context of max_ctx positions.
int64_t attention_exact_scratch_floats(int64_t max_ctx);
void launch_attention_exact(const AttentionArgs& args, cudaStream_t stream);

// ---- read_probe.cu: the device-memory bandwidth probe (CudaBackend::measure_limits) ----

// Reads `bytes` (a multiple of 16) of `data` once with `blocks` blocks of 256 threads.
void launch_read_probe(const void* data, int64_t bytes, int blocks, unsigned* sink,
                       cudaStream_t stream);

}  // namespace tenbin::cuda
