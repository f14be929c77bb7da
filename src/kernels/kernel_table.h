// Every compiled variant of every op, as tables of function pointers, one per instruction set.
// ops.h dispatches to kernel_table(best_isa()); op tests walk available_isas() and compare each
// table with the scalar one. best_isa() is the best ISA this CPU supports, capped by the
// environment variable TENBIN_ISA=scalar|avx2|avx512 (read once, on first dispatch).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "kernels/ops.h"
#include "tensor/dtype.h"
#include "util/status.h"
#include "util/thread_pool.h"

namespace tenbin::kernels {

enum class Isa { kScalar, kAvx2, kAvx512 };

std::string_view isa_name(Isa isa);

// Row kernels of one weight type.
using DequantizeRowFn = void (*)(const void* src, float* dst, int64_t n);
// Quantizes an f32 activation row into the format a vec-dot reads (n: multiple of its block).
using QuantizeActFn = void (*)(const float* x, void* dst, int64_t n);
// Dot of one weight row (n elements) with one activation row already in `act_type` format.
using VecDotFn = float (*)(int64_t n, const void* w_row, const void* act_row);
// vec_dot of one weight row with four activation rows (act_row + i * act_stride bytes), each
// weight block unpacked once for the four; out[i] must equal vec_dot with row i bit for bit.
using VecDotX4Fn = void (*)(int64_t n, const void* w_row, const void* act_row, int64_t act_stride,
                            float* out);

struct TypeKernels {
  DequantizeRowFn dequantize = nullptr;
  VecDotFn vec_dot = nullptr;
  VecDotX4Fn vec_dot_x4 = nullptr;  // optional: prefill reuses weights across tokens
  DType act_type = DType::kF32;     // activation format vec_dot expects
};

inline constexpr size_t kMaxTypeId = 31;  // DType ids index `types`

struct KernelTable {
  Isa isa = Isa::kScalar;
  std::array<TypeKernels, kMaxTypeId> types{};           // indexed by DType id
  std::array<QuantizeActFn, kMaxTypeId> quantize_act{};  // indexed by activation DType id
  Status (*quantize_row)(DType, const float*, void*, int64_t) = nullptr;
  // Reads every layout (a packed view is unpacked row by row where a table has no kernel).
  void (*matmul)(const MatrixView&, const float*, int64_t, float*, ThreadPool&) = nullptr;
  // Weight types with fast kPacked16 kernels (bit DType id): pack_for_matmul packs those.
  uint32_t packs16_types = 0;
  bool packs16(DType type) const { return (packs16_types >> static_cast<int>(type)) & 1u; }
  void (*rms_norm)(const float*, const float*, float*, int64_t, float) = nullptr;
  void (*rope)(float*, int, int, int, const RopeParams&) = nullptr;
  void (*softmax)(float*, int64_t) = nullptr;
  void (*silu_mul)(const float*, const float*, float*, int64_t) = nullptr;
  void (*add)(const float*, const float*, float*, int64_t) = nullptr;
  void (*attention)(const float*, const KvView&, int64_t, const AttentionShape&, float*) = nullptr;
  void (*attention_span)(const float*, int64_t, int64_t, const KvView&, int64_t,
                         const AttentionShape&, float*, int64_t) = nullptr;

  const TypeKernels& of(DType t) const { return types[static_cast<size_t>(t)]; }
};

const KernelTable& kernel_table(Isa isa);  // `isa` must be in available_isas()
std::vector<Isa> available_isas();         // what this CPU can run, scalar first
Isa best_isa();                            // capped by TENBIN_ISA; cached

// The matmul every SIMD table shares: quantizes each token's activations once to the type's
// act_type, then splits rows over the pool and calls vec_dot per (row, token). Each output
// depends only on its own row and token, so results are batch invariant. Packed views are
// unpacked one row at a time (correct, not fast).
void matmul_with_table(const KernelTable& table, const MatrixView& w, const float* x,
                       int64_t n_tokens, float* y, ThreadPool& pool);

}  // namespace tenbin::kernels
