// The AVX2 kernel table: the shared templates instantiated with the AVX2 vocabulary, and the
// packed matmuls of every weight type (packed_matmul_avx2.h).
#include "kernels/cpu/simd_avx2.h"

#include "kernels/cpu/cpu_tables.h"

namespace tenbin::kernels::cpu {
namespace {
struct Avx2Isa : Avx2 {
  static const KernelTable& table();
};
}  // namespace
}  // namespace tenbin::kernels::cpu

#include "kernels/cpu/make_table.h"
#include "kernels/cpu/packed_matmul_avx2.h"

namespace tenbin::kernels::cpu {
namespace {

void avx2_matmul(const MatrixView& w, const float* x, int64_t n_tokens, float* y,
                 ThreadPool& pool) {
  if (w.layout == WeightLayout::kPacked16 &&
      (w.type == DType::kQ4_0 || w.type == DType::kQ5_0 || w.type == DType::kQ8_0)) {
    packed16_matmul_q8_avx2(Avx2Isa::table(), w, x, n_tokens, y, pool);
  } else if (w.layout == WeightLayout::kPacked16 &&
             (w.type == DType::kQ4_1 || w.type == DType::kQ5_1)) {
    packed16_matmul_offset_avx2(Avx2Isa::table(), w, x, n_tokens, y, pool);
  } else if (w.layout == WeightLayout::kPacked16 &&
             (w.type == DType::kQ2_K || w.type == DType::kQ3_K || w.type == DType::kQ4_K ||
              w.type == DType::kQ5_K || w.type == DType::kQ6_K)) {
    packed16_matmul_k_avx2(Avx2Isa::table(), w, x, n_tokens, y, pool);
  } else if (w.layout == WeightLayout::kPacked16 && w.type == DType::kF16) {
    packed16_matmul_f16_avx2(w, x, n_tokens, y, pool);
  } else if (w.layout == WeightLayout::kPacked16 && w.type == DType::kBF16) {
    packed16_matmul_bf16_avx2(w, x, n_tokens, y, pool);
  } else {
    matmul_with_table(Avx2Isa::table(), w, x, n_tokens, y, pool);
  }
}

KernelTable make_avx2_table() {
  KernelTable t = make_table<Avx2Isa>(Isa::kAvx2);
  t.matmul = avx2_matmul;
  t.packs16_types = 1u << static_cast<int>(DType::kQ4_0) | 1u << static_cast<int>(DType::kQ4_1) |
                    1u << static_cast<int>(DType::kQ5_0) | 1u << static_cast<int>(DType::kQ5_1) |
                    1u << static_cast<int>(DType::kQ8_0) | 1u << static_cast<int>(DType::kQ2_K) |
                    1u << static_cast<int>(DType::kQ3_K) | 1u << static_cast<int>(DType::kQ4_K) |
                    1u << static_cast<int>(DType::kQ5_K) | 1u << static_cast<int>(DType::kQ6_K) |
                    1u << static_cast<int>(DType::kF16) | 1u << static_cast<int>(DType::kBF16);
  return t;
}

}  // namespace

const KernelTable& Avx2Isa::table() {
  static const KernelTable t = make_avx2_table();
  return t;
}

const KernelTable& avx2_table() {
  return Avx2Isa::table();
}

}  // namespace tenbin::kernels::cpu
