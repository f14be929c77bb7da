// Entry points of the SIMD kernel tables, one per instruction-set file (cpu_avx2.cc,
// cpu_avx512.cc). Only call these on a CPU that has the ISA: kernels/dispatch.cc checks.
#pragma once

#include "kernels/kernel_table.h"

namespace tenbin::kernels::cpu {

const KernelTable& avx2_table();
const KernelTable& avx512_table();

}  // namespace tenbin::kernels::cpu
