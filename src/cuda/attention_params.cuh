// The kernel parameters both attention implementations (attention.cu for F16/F32 caches,
// attention_exact.cu for BF16/Q8_0) take, filled once from launch.h's AttentionArgs; how both
// cut a batch's tokens into launches that fit their scratch; the tiles of queries whose K/V rows
// both read once per tile; and the cache row of a context position they both look up through
// the block table.
#pragma once

#include <algorithm>
#include <cstdint>

#include "cuda/launch.h"

namespace tenbin::cuda {

struct AttentionParams {
  const float* q;
  float* out;
  const void* k;
  const void* v;
  int64_t row_stride;
  int block_size;
  const int32_t* positions;
  const int32_t* seq_ids;
  const int32_t* block_tables;
  int64_t table_width;
  int64_t token_begin;  // first token of this launch
  int64_t token_count;  // tokens of this launch
  int n_heads;
  int group;  // query heads per kv head
  int head_dim;
  float scale;
  int max_segments;       // attention.cu: segments per token in this launch's grid
  int64_t scores_stride;  // attention_exact.cu: floats of scratch per (token, head)
  float* scratch;
};

inline AttentionParams attention_params(const AttentionArgs& a) {
  AttentionParams p{};
  p.q = a.q;
  p.out = a.out;
  p.k = a.k;
  p.v = a.v;
  p.row_stride = a.row_stride;
  p.block_size = a.block_size;
  p.positions = a.positions;
  p.seq_ids = a.seq_ids;
  p.block_tables = a.block_tables;
  p.table_width = a.table_width;
  p.n_heads = a.n_heads;
  p.group = a.n_kv_heads > 0 ? a.n_heads / a.n_kv_heads : 1;
  p.head_dim = a.head_dim;
  p.scale = a.scale;
  p.scratch = a.scratch;
  return p;
}

// The tokens [begin, end) of the next launch: as many from `begin` on as `fits(n_tokens, max_ctx)`
// allows (at least one), max_ctx being their longest context (host positions).
struct TokenChunk {
  int64_t end;
  int64_t max_ctx;
};
template <class Fits>
TokenChunk next_token_chunk(const AttentionArgs& a, int64_t begin, Fits fits) {
  TokenChunk chunk{begin, 0};
  for (; chunk.end < a.n_tokens; ++chunk.end) {
    const int64_t ctx = std::max<int64_t>(chunk.max_ctx, a.host_positions[chunk.end] + 1);
    if (chunk.end > begin && !fits(chunk.end - begin + 1, ctx)) break;
    chunk.max_ctx = ctx;
  }
  return chunk;
}

// A tile: queries (token, head) that read the same K and V rows, so that one block loads each
// row once for all of them. With kHeads false, tokens of a sequence at the next positions, one
// head (query tt is token t + tt); with kHeads true, the query heads of one kv head, one token
// (query tt is head `head` + tt).
//
// How many queries the tile that (local_token, head) starts holds; 0 when another tile holds it.
// Token tiles end at the next multiple of kTile positions (so that where segments are cut, at
// multiples of kTile, no tile straddles them), head tiles at the kv head's last query head.
template <int kTile, bool kHeads>
__device__ __forceinline__ int tile_queries(const AttentionParams& p, int64_t local_token,
                                            int head) {
  if (kTile == 1) return 1;
  if (kHeads) {
    const int in_group = head % p.group;
    return in_group % kTile != 0 ? 0 : min(kTile, p.group - in_group);
  }
  const int64_t t = p.token_begin + local_token;
  const int32_t seq = p.seq_ids[t], pos = p.positions[t];
  if (local_token > 0 && pos % kTile != 0 && p.seq_ids[t - 1] == seq &&
      p.positions[t - 1] == pos - 1) {
    return 0;
  }
  int n = 1;
  while (n < kTile && local_token + n < p.token_count && p.seq_ids[t + n] == seq &&
         p.positions[t + n] == pos + n && (pos + n) % kTile != 0) {
    ++n;
  }
  return n;
}

// Floats from one query's q (and output) to the next of its tile.
template <bool kHeads>
__device__ __forceinline__ int64_t query_step(const AttentionParams& p) {
  return kHeads ? p.head_dim : static_cast<int64_t>(p.n_heads) * p.head_dim;
}

// Whether some token of [begin, end) sits at the position after the previous token's: the
// launch's tiles are then tokens, else query heads.
inline bool has_consecutive_tokens(const AttentionArgs& a, int64_t begin, int64_t end) {
  for (int64_t t = begin + 1; t < end; ++t) {
    if (a.host_positions[t] == a.host_positions[t - 1] + 1) return true;
  }
  return false;
}

// Element offset of the cache row of context position `pos` (block table `table`), plus
// kv_offset (the kv head's first element).
__device__ __forceinline__ int64_t context_row(const AttentionParams& p, const int32_t* table,
                                               int64_t pos, int64_t kv_offset) {
  const int64_t slot =
      static_cast<int64_t>(table[pos / p.block_size]) * p.block_size + pos % p.block_size;
  return slot * p.row_stride + kv_offset;
}

}  // namespace tenbin::cuda
