// The ISA-neutral parts of the packed (kernels/packed_layout.h) matmuls: the work split over
// 16-row groups and token tiles, compile-time tile sizes, and the per-token activation block
// data of the Q4_0/Q8_0, K-quant and F16 tiles. Include only from the per-ISA packed matmul
// headers.
#pragma once

#include <xmmintrin.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/ops.h"
#include "kernels/packed_layout.h"
#include "kernels/scratch.h"
#include "tensor/blocks.h"
#include "tensor/half.h"

namespace tenbin::kernels::cpu {
namespace {

// Per token and block: the activation scale and the integer correction -k * sum(a).
struct ActBlockInfo {
  float d;
  int32_t bias;
};

// Decode (one or two tokens) spends about as long unpacking a K-quant block as reading it, and
// the hardware prefetcher alone leaves the two in series; each block first asks for the block
// two on, one line in four into L2 (the streamer fetches the lines between). Measured on
// TinyLlama Q4_K_M decode, one thread: +6% (28.6 -> 30.3 tok/s, three interleaved rounds);
// every line into L1 instead was 35% slower. A prefetch past the matrix's end is harmless.
template <int64_t kBlockBytes, int64_t kDistance = 2 * kBlockBytes>
inline void prefetch_ahead(const uint8_t* blk) {
  const uint8_t* p = blk + kDistance;
#pragma GCC unroll 16
  for (int64_t off = 0; off < kBlockBytes; off += 256) {
    _mm_prefetch(reinterpret_cast<const char*>(p + off), _MM_HINT_T1);
  }
}

// Calls fn(std::integral_constant<int, nt>{}) for a tile of nt tokens (1..Max), so every tile
// size runs its own fully unrolled kernel instantiation.
template <int Max, class Fn>
void with_tile_size(int nt, Fn&& fn) {
  if constexpr (Max > 1) {
    if (nt < Max) return with_tile_size<Max - 1>(nt, fn);
  }
  fn(std::integral_constant<int, Max>{});
}

// The work split of every packed matmul: 16-row groups over the pool, each group over tiles
// of up to Tile tokens; fn(group, first_token, tokens_in_tile).
template <int Tile, class Fn>
void for_each_group_tile(int64_t n_groups, int64_t n_tokens, ThreadPool& pool, Fn&& fn) {
  pool.parallel_for(n_groups, [&](int64_t begin, int64_t end, int) {
    for (int64_t g = begin; g < end; ++g) {
      for (int64_t t0 = 0; t0 < n_tokens; t0 += Tile) {
        fn(g, t0, static_cast<int>(std::min<int64_t>(Tile, n_tokens - t0)));
      }
    }
  });
}

// Quantizes every token's activation row to Q8_0 with `quantize` (bit-identical in every ISA)
// into per-thread scratch, with each block's scale as f32 and correction -bias * sum(q).
struct PackedQ8Activations {
  const BlockQ8_0* blocks;
  const ActBlockInfo* info;
};
inline PackedQ8Activations quantize_packed_q8_0(void (*quantize)(const float*, void*, int64_t),
                                                const float* x, int64_t n_tokens, int64_t cols,
                                                int bias, ThreadPool& pool) {
  const int64_t nb = cols / kQK;
  const auto n_act = static_cast<size_t>(n_tokens * nb);
  BlockQ8_0* act = thread_scratch<BlockQ8_0, struct PackedActTag>(n_act);
  ActBlockInfo* info = thread_scratch<ActBlockInfo, struct PackedInfoTag>(n_act);
  pool.parallel_for(n_tokens, [&](int64_t begin, int64_t end, int) {
    for (int64_t t = begin; t < end; ++t) {
      BlockQ8_0* row = act + t * nb;
      quantize(x + t * cols, row, cols);
      for (int64_t b = 0; b < nb; ++b) {
        int32_t sum = 0;
        for (int i = 0; i < kQK; ++i) sum += row[b].qs[i];
        info[t * nb + b] = {fp16_to_f32(row[b].d), -bias * sum};
      }
    }
  });
  return {act, info};
}

// Quantizes every token's activation row to Q8_1 with `quantize` into per-thread scratch, with
// each block's d and s (d * sum(q)) widened to f32 once (the tiles read them once per 16-row
// group).
struct Q8_1Scales {
  float d;
  float s;
};
struct PackedQ8_1Activations {
  const BlockQ8_1* blocks;
  const Q8_1Scales* scales;
};
inline PackedQ8_1Activations quantize_packed_q8_1(void (*quantize)(const float*, void*, int64_t),
                                                  const float* x, int64_t n_tokens, int64_t cols,
                                                  ThreadPool& pool) {
  const int64_t nb = cols / kQK;
  const auto n_act = static_cast<size_t>(n_tokens * nb);
  BlockQ8_1* act = thread_scratch<BlockQ8_1, struct PackedActTag>(n_act);
  Q8_1Scales* scales = thread_scratch<Q8_1Scales, struct PackedInfoTag>(n_act);
  pool.parallel_for(n_tokens, [&](int64_t begin, int64_t end, int) {
    for (int64_t t = begin; t < end; ++t) {
      quantize(x + t * cols, act + t * nb, cols);
      for (int64_t b = t * nb; b < (t + 1) * nb; ++b) {
        scales[b] = {fp16_to_f32(act[b].d), fp16_to_f32(act[b].s)};
      }
    }
  });
  return {act, scales};
}

// The F16 tiles' activations: every token's row rounded to f16 (the F16 dot partner) and
// widened back to f32 for broadcasting, in per-thread scratch.
inline const float* round_packed_f16_activations(const float* x, int64_t n_tokens, int64_t cols,
                                                 ThreadPool& pool) {
  float* xh = thread_scratch<float, struct PackedF16ActTag>(static_cast<size_t>(n_tokens * cols));
  pool.parallel_for(n_tokens, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin * cols; i < end * cols; ++i) xh[i] = fp16_to_f32(f32_to_fp16(x[i]));
  });
  return xh;
}

// The BF16 tiles' activations: every token's row rounded to bf16 (the BF16 dot partner), as
// column pairs (column 2p in the low half), in per-thread scratch.
inline const uint32_t* round_packed_bf16_activations(const float* x, int64_t n_tokens, int64_t cols,
                                                     ThreadPool& pool) {
  const int64_t pairs = cols / 2;
  uint32_t* xb =
      thread_scratch<uint32_t, struct PackedBf16ActTag>(static_cast<size_t>(n_tokens * pairs));
  pool.parallel_for(n_tokens, [&](int64_t begin, int64_t end, int) {
    for (int64_t t = begin; t < end; ++t) {
      for (int64_t p = 0; p < pairs; ++p) {
        const float* v = x + t * cols + 2 * p;
        xb[t * pairs + p] = f32_to_bf16(v[0]) | static_cast<uint32_t>(f32_to_bf16(v[1])) << 16;
      }
    }
  });
  return xb;
}

// The same rounding widened back to f32 (the AVX2 BF16 tile broadcasts f32 values).
inline const float* round_packed_bf16_floats(const float* x, int64_t n_tokens, int64_t cols,
                                             ThreadPool& pool) {
  float* xb =
      thread_scratch<float, struct PackedBf16FloatTag>(static_cast<size_t>(n_tokens * cols));
  pool.parallel_for(n_tokens, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin * cols; i < end * cols; ++i) xb[i] = bf16_to_f32(f32_to_bf16(x[i]));
  });
  return xb;
}

// Per token and Q4_K super-block: the activation scale and the activation sums of its eight
// 32-column sub-blocks as int16 pairs, (sum of 2p) | (sum of 2p+1) << 16, ready for pmaddwd
// against the packed (min 2p, min 2p+1) pairs.
struct Q4KActInfo {
  float d;
  int32_t bsum_pairs[4];
};

// Quantizes every token's activation row to Q8_K with `quantize` (bit-identical in every ISA)
// into per-thread scratch, with the Q4_K sub-block sums beside it.
struct PackedQ8KActivations {
  const BlockQ8_K* blocks;
  const Q4KActInfo* info;
};
inline PackedQ8KActivations quantize_packed_q8_k(void (*quantize)(const float*, void*, int64_t),
                                                 const float* x, int64_t n_tokens, int64_t cols,
                                                 ThreadPool& pool) {
  const int64_t nb = cols / kQKK;
  const auto n_act = static_cast<size_t>(n_tokens * nb);
  BlockQ8_K* act = thread_scratch<BlockQ8_K, struct PackedActTag>(n_act);
  Q4KActInfo* info = thread_scratch<Q4KActInfo, struct PackedInfoTag>(n_act);
  pool.parallel_for(n_tokens, [&](int64_t begin, int64_t end, int) {
    for (int64_t t = begin; t < end; ++t) {
      BlockQ8_K* row = act + t * nb;
      quantize(x + t * cols, row, cols);
      for (int64_t b = 0; b < nb; ++b) {
        Q4KActInfo& ai = info[t * nb + b];
        ai.d = row[b].d;
        for (int p = 0; p < 4; ++p) {
          const int lo = row[b].bsums[4 * p] + row[b].bsums[4 * p + 1];
          const int hi = row[b].bsums[4 * p + 2] + row[b].bsums[4 * p + 3];
          ai.bsum_pairs[p] = static_cast<int32_t>((static_cast<uint32_t>(lo) & 0xFFFF) |
                                                  (static_cast<uint32_t>(hi) << 16));
        }
      }
    }
  });
  return {act, info};
}

}  // namespace
}  // namespace tenbin::kernels::cpu
