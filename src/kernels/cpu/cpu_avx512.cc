// The AVX-512 kernel table: the shared templates instantiated with the AVX-512 (VNNI) vocabulary.
#include "kernels/cpu/simd_avx512.h"

#include "kernels/cpu/cpu_tables.h"

namespace tenbin::kernels::cpu {
namespace {
struct Avx512Isa : Avx512 {
  static const KernelTable& table();
};
}  // namespace
}  // namespace tenbin::kernels::cpu

#include "kernels/cpu/make_table.h"
#include "kernels/cpu/packed_matmul_avx512.h"

namespace tenbin::kernels::cpu {
namespace {

void avx512_matmul(const MatrixView& w, const float* x, int64_t n_tokens, float* y,
                   ThreadPool& pool) {
  if (w.layout == WeightLayout::kPacked16) {
    packed16_matmul(w, x, n_tokens, y, pool);
  } else {
    matmul_with_table(Avx512Isa::table(), w, x, n_tokens, y, pool);
  }
}

KernelTable make_avx512_table() {
  KernelTable t = make_table<Avx512Isa>(Isa::kAvx512);
  t.matmul = avx512_matmul;
  t.quantize_act[static_cast<size_t>(DType::kQ8_K)] = quantize_q8_k_avx512;
  for (DType type :
       {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kQ2_K,
        DType::kQ3_K, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kF16, DType::kBF16}) {
    t.packs16_types |= 1u << static_cast<int>(type);
  }
  return t;
}

}  // namespace

const KernelTable& Avx512Isa::table() {
  static const KernelTable t = make_avx512_table();
  return t;
}

const KernelTable& avx512_table() {
  return Avx512Isa::table();
}

}  // namespace tenbin::kernels::cpu
