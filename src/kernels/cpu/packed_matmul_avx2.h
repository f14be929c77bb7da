// AVX2 matmul over 16-row packed Q4_0 weights (kernels/packed_layout.h). A 16-row group is run
// as two halves of 8 rows (one 32-bit lane per row of a 256-bit vector), over tiles of up to 4
// tokens, so every unpacked weight vector is reused from registers by the tile's tokens.
// Per block and token the dot is exact in integers: pmaddubsw of the stored nibbles (0..15)
// with the activation bytes (|a| <= 127) gives int16 pair sums of at most 3810, so the 8
// column quads add up in int16 (at most 30480) before one pmaddwd widens them; the -8*sum(a)
// correction comes with the activation block. Then acc = fma(d_w * d_a, float(dot), acc) in
// block order: the float steps of the AVX-512 tile, so results are batch invariant and equal
// to the AVX-512 ones. Include only from cpu_avx2.cc (compiled with the AVX2 flags).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/cpu/packed_tiling.h"
#include "kernels/kernel_table.h"

namespace tenbin::kernels::cpu {
namespace {

constexpr int kAvx2TokenTile = 4;

inline __m256i broadcast4_avx2(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// Rows 8*half..8*half+7 of a packed Q4_0 group against NT tokens' Q8_0 blocks.
template <int NT>
void q4_0_half_tile_avx2(const uint8_t* group, int64_t nb, int half, const BlockQ8_0* const* act,
                         const ActBlockInfo* const* info, float* const* out) {
  constexpr int64_t kBlockBytes = 16 * 18;
  __m256 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = group + b * kBlockBytes;
    const __m256 dw =
        _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 16 * half)));
    __m256i w[8];  // w[j] multiplies activation columns 4j..4j+3
    for (int c = 0; c < 4; ++c) {
      const __m256i raw =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 32 + 64 * c + 32 * half));
      w[c] = _mm256_and_si256(raw, m4);
      w[c + 4] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
    }
    for (int t = 0; t < NT; ++t) {
      const int8_t* a = act[t][b].qs;
      __m256i s16 = _mm256_maddubs_epi16(w[0], broadcast4_avx2(a));
      for (int j = 1; j < 8; ++j) {
        s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(w[j], broadcast4_avx2(a + 4 * j)));
      }
      const __m256i s =
          _mm256_add_epi32(_mm256_madd_epi16(s16, ones), _mm256_set1_epi32(info[t][b].bias));
      const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(info[t][b].d));
      acc[t] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(s), acc[t]);
    }
  }
  for (int t = 0; t < NT; ++t) _mm256_storeu_ps(out[t] + 8 * half, acc[t]);
}

void packed16_matmul_q4_0_avx2(const KernelTable& table, const MatrixView& w, const float* x,
                               int64_t n_tokens, float* y, ThreadPool& pool) {
  const int64_t nb = w.cols / kQK;
  const PackedQ8Activations q8 =
      quantize_packed_q8_0(table.quantize_act[static_cast<size_t>(DType::kQ8_0)], x, n_tokens,
                           w.cols, packed16_weight_bias(DType::kQ4_0), pool);
  const int64_t group_bytes = nb * packed16_block_bytes(DType::kQ4_0);
  const auto* base = static_cast<const uint8_t*>(w.data);
  for_each_group_tile<kAvx2TokenTile>(
      w.rows / kPackRows, n_tokens, pool, [&](int64_t g, int64_t t0, int nt) {
        const BlockQ8_0* act_rows[kAvx2TokenTile];
        const ActBlockInfo* info_rows[kAvx2TokenTile];
        float* out_rows[kAvx2TokenTile];
        for (int i = 0; i < nt; ++i) {
          act_rows[i] = q8.blocks + (t0 + i) * nb;
          info_rows[i] = q8.info + (t0 + i) * nb;
          out_rows[i] = y + (t0 + i) * w.rows + g * kPackRows;
        }
        with_tile_size<kAvx2TokenTile>(nt, [&](auto n) {
          for (int half = 0; half < 2; ++half) {
            q4_0_half_tile_avx2<decltype(n)::value>(base + g * group_bytes, nb, half, act_rows,
                                                    info_rows, out_rows);
          }
        });
      });
}

}  // namespace
}  // namespace tenbin::kernels::cpu
