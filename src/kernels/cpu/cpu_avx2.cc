// The AVX2 kernel table: the shared templates instantiated with the AVX2 vocabulary.
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

namespace tenbin::kernels::cpu {

const KernelTable& Avx2Isa::table() {
  static const KernelTable t = make_table<Avx2Isa>(Isa::kAvx2);
  return t;
}

const KernelTable& avx2_table() {
  return Avx2Isa::table();
}

}  // namespace tenbin::kernels::cpu
