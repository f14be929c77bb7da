// Builds the kernel table of one SIMD vocabulary S from the shared templates, on top of the
// scalar table (reference quantizers, and integer dots for formats without a SIMD one).
// Included only by the per-ISA files (cpu_avx2.cc, cpu_avx512.cc).
#pragma once

#include "kernels/cpu/attention_kernels.h"
#include "kernels/cpu/float_kernels.h"
#include "kernels/cpu/quant_dots.h"
#include "kernels/kernel_table.h"
#include "kernels/ref/ref_ops.h"

namespace tenbin::kernels::cpu {
namespace {

template <class S>
void simd_matmul(const MatrixView& w, const float* x, int64_t n_tokens, float* y,
                 ThreadPool& pool) {
  matmul_with_table(S::table(), w, x, n_tokens, y, pool);
}

template <class S>
void dequantize_bf16(const void* src, float* dst, int64_t n) {
  const auto* h = static_cast<const uint16_t*>(src);
  int64_t i = 0;
  for (; i + S::kW <= n; i += S::kW) S::store(dst + i, S::load_bf16(h + i));
  for (; i < n; ++i) dst[i] = bf16_to_f32(h[i]);
}

// F16 rows (KV cache stores, activation rows of F16 weights) with the hardware conversion, which
// rounds to nearest even as f32_to_fp16 does. The scalar conversion cost ~4 us per layer in a
// TinyLlama decode step's KV store.
template <class S>
void quantize_f16(const float* src, void* dst, int64_t n) {
  auto* h = static_cast<uint16_t*>(dst);
  int64_t i = 0;
  for (; i + S::kW <= n; i += S::kW) S::store_f16(h + i, S::load(src + i));
  for (; i < n; ++i) h[i] = f32_to_fp16(src[i]);
}

// Q8_0 rows (a Q8_0 KV cache's stores) by the storage recipe of ref::quantize_q8_0: per 32
// values d = amax / 127, q = round-half-even(x * (1 / d)).
template <class S>
void quantize_q8_0(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, src += kQK) {
    const float d = block_amax<S>(src) / 127.0f;
    b[i].d = f32_to_fp16(d);
    (void)round_block_s8<S>(src, d != 0 ? 1.0f / d : 0.0f, b[i].qs);
  }
}

// Q8_0 activation rows by the matmul recipe (ref::quantize_act_q8_0): per 32 values
// d = f16(amax / 127), q = round-half-even(x * (127 / amax)).
template <class S>
void quantize_act_q8_0(const float* src, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, src += kQK) {
    const float amax = block_amax<S>(src);
    b[i].d = f32_to_fp16(amax / 127.0f);
    (void)round_block_s8<S>(src, amax != 0 ? 127.0f / amax : 0.0f, b[i].qs);
  }
}

// quantize_f16 for F16, quantize_q8_0 for Q8_0, the reference quantizers for every other type.
template <class S>
Status quantize_row(DType type, const float* src, void* dst, int64_t n) {
  if (type == DType::kF16) {
    quantize_f16<S>(src, dst, n);
    return Status::Ok();
  }
  if (type == DType::kQ8_0 && n % kQK == 0) {
    quantize_q8_0<S>(src, dst, n);
    return Status::Ok();
  }
  return ref::quantize_row(type, src, dst, n);
}

template <class S>
KernelTable make_table(Isa isa) {
  KernelTable t = kernel_table(Isa::kScalar);  // reference dequantizers and quantizers
  t.isa = isa;
  auto set = [&t](DType type, VecDotFn dot, DType act) {
    t.types[static_cast<size_t>(type)].vec_dot = dot;
    t.types[static_cast<size_t>(type)].act_type = act;
  };
  t.types[static_cast<size_t>(DType::kF16)].dequantize = dequantize_f16<S>;
  t.types[static_cast<size_t>(DType::kBF16)].dequantize = dequantize_bf16<S>;
  // Every weight type is dotted with its partner format (ops.h).
  set(DType::kF32, vec_dot_float<S, Elem::kF32>, DType::kF32);
  set(DType::kF16, vec_dot_float<S, Elem::kF16>, DType::kF16);
  set(DType::kBF16, vec_dot_float<S, Elem::kBF16>, DType::kBF16);
  set(DType::kQ8_0, vec_dot_q8_0<S>, DType::kQ8_0);
  set(DType::kQ4_0, vec_dot_q4_0<S>, DType::kQ8_0);
  set(DType::kQ5_0, vec_dot_q5_0<S>, DType::kQ8_0);
  set(DType::kQ4_1, vec_dot_q4_1<S>, DType::kQ8_1);
  set(DType::kQ5_1, vec_dot_q5_1<S>, DType::kQ8_1);
  set(DType::kQ2_K, vec_dot_q2_k<S>, DType::kQ8_K);
  set(DType::kQ3_K, vec_dot_q3_k<S>, DType::kQ8_K);
  t.types[static_cast<size_t>(DType::kQ8_0)].vec_dot_x4 =
      dot_rows_q8<S, BlockQ8_0, q8_0_weights, 4>;
  t.types[static_cast<size_t>(DType::kQ4_0)].vec_dot_x4 =
      dot_rows_q8<S, BlockQ4_0, q4_0_weights, 4>;
  t.types[static_cast<size_t>(DType::kQ5_0)].vec_dot_x4 =
      dot_rows_q8<S, BlockQ5_0, q5_0_weights, 4>;
  t.types[static_cast<size_t>(DType::kQ4_1)].vec_dot_x4 =
      dot_rows_offset<S, BlockQ4_1, q4_1_levels, 4>;
  t.types[static_cast<size_t>(DType::kQ5_1)].vec_dot_x4 =
      dot_rows_offset<S, BlockQ5_1, q5_1_levels, 4>;
  t.types[static_cast<size_t>(DType::kQ2_K)].vec_dot_x4 = dot_rows_k2<S, BlockQ2_K, 4>;
  t.types[static_cast<size_t>(DType::kQ3_K)].vec_dot_x4 = dot_rows_k2<S, BlockQ3_K, 4>;
  t.types[static_cast<size_t>(DType::kQ4_K)].vec_dot_x4 = dot_rows_q4_k<S, 4>;
  t.types[static_cast<size_t>(DType::kQ5_K)].vec_dot_x4 = dot_rows_q5_k<S, 4>;
  t.types[static_cast<size_t>(DType::kQ6_K)].vec_dot_x4 = dot_rows_q6_k<S, 4>;
  set(DType::kQ4_K, vec_dot_q4_k<S>, DType::kQ8_K);
  set(DType::kQ5_K, vec_dot_q5_k<S>, DType::kQ8_K);
  set(DType::kQ6_K, vec_dot_q6_k<S>, DType::kQ8_K);
  t.quantize_row = quantize_row<S>;
  t.quantize_act[static_cast<size_t>(DType::kF16)] = quantize_f16<S>;
  t.quantize_act[static_cast<size_t>(DType::kQ8_0)] = quantize_act_q8_0<S>;
  t.matmul = simd_matmul<S>;
  t.rms_norm = rms_norm<S>;
  t.rope = rope<S>;
  t.softmax = softmax<S>;
  t.silu_mul = silu_mul<S>;
  t.add = add<S>;
  t.attention = attention<S>;
  t.attention_span = attention_span<S>;
  return t;
}

}  // namespace
}  // namespace tenbin::kernels::cpu
