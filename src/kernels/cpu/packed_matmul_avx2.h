// AVX2 matmul over 16-row packed weights of every type (kernels/packed_layout.h): the drivers
// (activation quantization, work split, tile choice); the tiles live in packed_blocks_avx2.h,
// packed_kquants_avx2.h and packed_floats_avx2.h. A group is run as two halves of 8 rows (one
// 32-bit lane per row of a 256-bit vector) over tiles of up to 4 tokens (6 for F16), so every
// unpacked weight vector is reused from registers by the tile's tokens; one or two tokens (decode)
// run the whole group per block. Integer dots are exact: pmaddubsw of unsigned weights (Q8_0: |q|
// against the activation with q's sign) with the activation bytes gives int16 pair sums, added in
// int16 only as far as they cannot overflow, then one pmaddwd widens them (times the sub-block
// scale for the K-quants). The float steps are those of the AVX-512 tiles (packed_matmul_avx512.h)
// in the same order, so results are batch invariant and bitwise equal to the AVX-512 ones. Include
// only from cpu_avx2.cc (compiled with the AVX2 flags).
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/packed_blocks_avx2.h"
#include "kernels/cpu/packed_floats_avx2.h"
#include "kernels/cpu/packed_kquants_avx2.h"
#include "kernels/cpu/packed_tiling.h"
#include "kernels/kernel_table.h"

namespace tenbin::kernels::cpu {
namespace {

// The shared driver of the packed AVX2 matmuls: fn(group, first_token, tokens, act_rows,
// info_rows, out_rows) over every 16-row group and token tile.
template <int Tile = kAvx2TokenTile, class Act, class Info, class Fn>
void for_each_avx2_tile(const MatrixView& w, int64_t nb, const Act* act, const Info* info,
                        int64_t n_tokens, float* y, ThreadPool& pool, Fn&& fn) {
  for_each_group_tile<Tile>(w.rows / kPackRows, n_tokens, pool, [&](int64_t g, int64_t t0, int nt) {
    const Act* act_rows[Tile];
    const Info* info_rows[Tile];
    float* out_rows[Tile];
#pragma GCC unroll 8
    for (int i = 0; i < nt; ++i) {
      act_rows[i] = act + (t0 + i) * nb;
      info_rows[i] = info == nullptr ? nullptr : info + (t0 + i) * nb;
      out_rows[i] = y + (t0 + i) * w.rows + g * kPackRows;
    }
    fn(g, nt, act_rows, info_rows, out_rows);
  });
}

void packed16_matmul_k_avx2(const KernelTable& table, const MatrixView& w, const float* x,
                            int64_t n_tokens, float* y, ThreadPool& pool) {
  const int64_t nb = w.cols / kQKK;
  const PackedQ8KActivations q8 = quantize_packed_q8_k(
      table.quantize_act[static_cast<size_t>(DType::kQ8_K)], x, n_tokens, w.cols, pool);
  const auto* base = static_cast<const uint8_t*>(w.data);
  const bool q4 = w.type == DType::kQ4_K, q5 = w.type == DType::kQ5_K;
  const bool q2 = w.type == DType::kQ2_K, q3 = w.type == DType::kQ3_K;
  int64_t block_bytes = kQ6KPackedBlock;
  if (q2) block_bytes = kQ2KPackedBlock;
  if (q3) block_bytes = kQ3KPackedBlock;
  if (q4) block_bytes = kQ4KPackedBlock;
  if (q5) block_bytes = kQ5KPackedBlock;
  const int64_t group_bytes = nb * block_bytes;
  for_each_avx2_tile(
      w, nb, q8.blocks, q8.info, n_tokens, y, pool,
      [&](int64_t g, int nt, const BlockQ8_K* const* act, const Q4KActInfo* const* info,
          float* const* out) {
        with_tile_size<kAvx2TokenTile>(nt, [&](auto n) {
          constexpr int kN = decltype(n)::value;
          const uint8_t* group = base + g * group_bytes;
          if (q5 || q2 || q3) {  // one half-tile kernel for every token count
#pragma GCC unroll 2
            for (int half = 0; half < 2; ++half) {
              if (q5) {
                q5_k_half_tile_avx2<kN>(group, nb, half, act, info, out);
              } else if (q2) {
                k2_half_tile_avx2<false, kN>(group, nb, half, act, out);
              } else {
                k2_half_tile_avx2<true, kN>(group, nb, half, act, out);
              }
            }
          } else if constexpr (kN <= 2) {  // decode: the whole group per block, bits unpacked once
            if (q4) {
              q4_k_group_few_avx2<kN>(group, nb, act, info, out);
            } else {
              q6_k_group_few_avx2<kN>(group, nb, act, out);
            }
          } else {
#pragma GCC unroll 2
            for (int half = 0; half < 2; ++half) {
              if (q4) {
                q4_k_half_tile_avx2<kN>(group, nb, half, act, info, out);
              } else {
                q6_k_half_tile_avx2<kN>(group, nb, half, act, out);
              }
            }
          }
        });
      });
}

// Q4_0, Q5_0 and Q8_0 against Q8_0 activations.
void packed16_matmul_q8_avx2(const KernelTable& table, const MatrixView& w, const float* x,
                             int64_t n_tokens, float* y, ThreadPool& pool) {
  const int64_t nb = w.cols / kQK;
  const PackedQ8Activations q8 =
      quantize_packed_q8_0(table.quantize_act[static_cast<size_t>(DType::kQ8_0)], x, n_tokens,
                           w.cols, packed16_weight_bias(w.type), pool);
  const int64_t group_bytes = nb * packed16_block_bytes(w.type);
  const auto* base = static_cast<const uint8_t*>(w.data);
  const bool q4 = w.type == DType::kQ4_0, q5 = w.type == DType::kQ5_0;
  for_each_avx2_tile(w, nb, q8.blocks, q8.info, n_tokens, y, pool,
                     [&](int64_t g, int nt, const BlockQ8_0* const* act,
                         const ActBlockInfo* const* info, float* const* out) {
                       with_tile_size<kAvx2TokenTile>(nt, [&](auto n) {
                         constexpr int kN = decltype(n)::value;
                         const uint8_t* group = base + g * group_bytes;
                         if (q5) {  // one half-tile kernel for every token count
#pragma GCC unroll 2
                           for (int half = 0; half < 2; ++half) {
                             q5_0_half_tile_avx2<kN>(group, nb, half, act, info, out);
                           }
                         } else if constexpr (kN <= 2) {  // decode: the whole group per block
                           if (q4) {
                             q4_0_group_few_avx2<kN>(group, nb, act, info, out);
                           } else {
                             q8_0_group_few_avx2<kN>(group, nb, act, info, out);
                           }
                         } else {
#pragma GCC unroll 2
                           for (int half = 0; half < 2; ++half) {
                             if (q4) {
                               q4_0_half_tile_avx2<kN>(group, nb, half, act, info, out);
                             } else {
                               q8_0_half_tile_avx2<kN>(group, nb, half, act, info, out);
                             }
                           }
                         }
                       });
                     });
}

// Q4_1 and Q5_1 against Q8_1 activations.
void packed16_matmul_offset_avx2(const KernelTable& table, const MatrixView& w, const float* x,
                                 int64_t n_tokens, float* y, ThreadPool& pool) {
  const int64_t nb = w.cols / kQK;
  const PackedQ8_1Activations q8 = quantize_packed_q8_1(
      table.quantize_act[static_cast<size_t>(DType::kQ8_1)], x, n_tokens, w.cols, pool);
  const int64_t group_bytes = nb * packed16_block_bytes(w.type);
  const auto* base = static_cast<const uint8_t*>(w.data);
  const bool q4 = w.type == DType::kQ4_1;
  for_each_avx2_tile(w, nb, q8.blocks, q8.scales, n_tokens, y, pool,
                     [&](int64_t g, int nt, const BlockQ8_1* const* a, const Q8_1Scales* const* sc,
                         float* const* out) {
                       with_tile_size<kAvx2TokenTile>(nt, [&](auto n) {
                         constexpr int kN = decltype(n)::value;
                         const uint8_t* group = base + g * group_bytes;
#pragma GCC unroll 2
                         for (int half = 0; half < 2; ++half) {
                           if (q4) {
                             offset_half_tile_avx2<DType::kQ4_1, kN>(group, nb, half, a, sc, out);
                           } else {
                             offset_half_tile_avx2<DType::kQ5_1, kN>(group, nb, half, a, sc, out);
                           }
                         }
                       });
                     });
}

// BF16 against the activations rounded to bf16 (round_packed_bf16_floats).
void packed16_matmul_bf16_avx2(const MatrixView& w, const float* x, int64_t n_tokens, float* y,
                               ThreadPool& pool) {
  const float* xb = round_packed_bf16_floats(x, n_tokens, w.cols, pool);
  const int64_t pairs = w.cols / 2;
  const auto* base = static_cast<const uint8_t*>(w.data);
  for_each_avx2_tile(
      w, w.cols, xb, static_cast<const int*>(nullptr), n_tokens, y, pool,
      [&](int64_t g, int nt, const float* const* x_rows, const int* const*, float* const* out) {
        with_tile_size<kAvx2TokenTile>(nt, [&](auto n) {
          constexpr int kN = decltype(n)::value;
          const uint8_t* group = base + g * kPackRows * w.cols * 2;
          if constexpr (kN <= 2) {  // decode: both halves per pair
            bf16_group_few_avx2<kN>(group, pairs, x_rows, out);
          } else {
#pragma GCC unroll 2
            for (int half = 0; half < 2; ++half) {
              bf16_half_tile_avx2<kN>(group, pairs, half, x_rows, out);
            }
          }
        });
      });
}

// Against the activations rounded to f16 (round_packed_f16_activations).
void packed16_matmul_f16_avx2(const MatrixView& w, const float* x, int64_t n_tokens, float* y,
                              ThreadPool& pool) {
  const float* xh = round_packed_f16_activations(x, n_tokens, w.cols, pool);
  const auto* base = static_cast<const uint16_t*>(w.data);
  for_each_avx2_tile<kF16Avx2TokenTile>(
      w, w.cols, xh, static_cast<const float*>(nullptr), n_tokens, y, pool,
      [&](int64_t g, int nt, const float* const* x_rows, const float* const*, float* const* out) {
        with_tile_size<kF16Avx2TokenTile>(nt, [&](auto n) {
          constexpr int kN = decltype(n)::value;
          const uint16_t* group = base + g * kPackRows * w.cols;
          if constexpr (kN <= 2) {  // decode: both halves per column
            f16_group_few_avx2<kN>(group, w.cols, x_rows, out);
          } else {
#pragma GCC unroll 2
            for (int half = 0; half < 2; ++half) {
              f16_half_tile_avx2<kN>(group, w.cols, half, x_rows, out);
            }
          }
        });
      });
}

}  // namespace
}  // namespace tenbin::kernels::cpu
