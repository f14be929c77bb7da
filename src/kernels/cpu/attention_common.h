// Pieces the attention kernels over every cache type share (attention_kernels.h,
// attention_q8_kernels.h, attention_bf16_kernels.h): writing out the weighted sum's register
// accumulators. Included only by the per-ISA files, inside an anonymous namespace, so each ISA
// gets its own copy.
#pragma once

#include <cstdint>

namespace tenbin::kernels::cpu {
namespace {

// The accumulators of nh <= H heads over a slice of NV vectors of the head (acc[h * NV + j]:
// head h, vector j) stored to out[h][d0 + j * kW ...], heads hd apart.
template <class S, int NV, int H>
[[gnu::always_inline]] inline void store_head_slices(const typename S::V (&acc)[H * NV], int nh,
                                                     float* out, int hd, int d0) {
#pragma GCC unroll 16
  for (int h = 0; h < H; ++h) {
    if (h >= nh) break;
#pragma GCC unroll 16
    for (int j = 0; j < NV; ++j) S::store(out + int64_t{h} * hd + d0 + j * S::kW, acc[h * NV + j]);
  }
}

}  // namespace
}  // namespace tenbin::kernels::cpu
