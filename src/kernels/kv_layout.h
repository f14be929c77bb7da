// Where a paged KV cache keeps the keys and values of each slot (slot = block * block_size + j,
// j the position's place in its block). Two layouts, both a whole number of blocks of
// block_size * row_stride elements per array (row_stride = n_kv_heads * head_dim):
//  - kRows: slot s is one row of row_stride elements, kv head g from element s * row_stride +
//    g * head_dim, for K and V alike (the CUDA backend's cache).
//  - kHeadBlocks: block b is one [block_size x head_dim] tile per kv head, tile g starting at
//    element (b * row_stride + g * head_dim) * block_size. V tiles are row-major (position j,
//    element d at + j * head_dim + d); K tiles are transposed (at + d * block_size + j), so the
//    keys a CPU attention kernel scores together are a contiguous run with one position per
//    vector lane, and a kv head's part of a block is one stream (the CPU backend's cache).
#pragma once

#include <cstdint>

namespace tenbin::kernels {

enum class KvLayout : uint8_t { kRows, kHeadBlocks };

// Element index of (kv head g, element d) of slot `slot` in the K array (is_key) or the V array.
inline int64_t kv_element_index(KvLayout layout, bool is_key, int64_t slot, int block_size,
                                int64_t row_stride, int head_dim, int g, int d) {
  if (layout == KvLayout::kRows) return slot * row_stride + int64_t{g} * head_dim + d;
  const int64_t block = slot / block_size, j = slot % block_size;
  const int64_t tile = (block * row_stride + int64_t{g} * head_dim) * block_size;
  return tile + (is_key ? int64_t{d} * block_size + j : j * head_dim + d);
}

// Elements from a layer's K or V array to kv head g's part of it: what a view of that head
// alone (n_kv_heads = 1, the same row_stride) starts from.
inline int64_t kv_head_offset(KvLayout layout, int block_size, int head_dim, int g) {
  return int64_t{g} * head_dim * (layout == KvLayout::kRows ? 1 : block_size);
}

}  // namespace tenbin::kernels
