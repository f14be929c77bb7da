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

namespace tenbin::kernels::cpu {

const KernelTable& Avx512Isa::table() {
  static const KernelTable t = make_table<Avx512Isa>(Isa::kAvx512);
  return t;
}

const KernelTable& avx512_table() {
  return Avx512Isa::table();
}

}  // namespace tenbin::kernels::cpu
