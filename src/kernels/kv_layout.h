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
// A Q8_0 cache (opt-in, quantized: head_dim and row_stride multiples of 32) keeps each run of 32
// elements of a position's kv-head row as 32 int8 quants q and one f16 scale d (value d * q), as
// GGUF's q8_0 block: 34 bytes per 32 elements, so what starts at element e starts at byte
// e * 17 / 16 (kv_bytes). In kRows a slot's row is its q8_0 blocks in order. In kHeadBlocks a
// tile is its head_dim * block_size quants, then its head_dim / 32 * block_size scales: K quants
// [head_dim / 4][block_size][4] (four consecutive elements of a position in one 32-bit lane, what
// an int8 dot instruction multiplies), V quants [block_size][head_dim], and K and V scales
// [head_dim / 32][block_size] (a run of positions per 32-element group).
// A BF16 cache (opt-in: head_dim and block_size even) keeps 2-byte values like F16, but its
// kHeadBlocks tiles hold pairs, the two bf16 values an AVX-512 BF16 pair dot (vdpbf16ps)
// multiplies in one 32-bit lane: K tiles [head_dim / 2][block_size][2] (two consecutive
// elements of a position's key), V tiles [block_size / 2][head_dim][2] (element d of two
// consecutive positions). In kRows a slot's row is its bf16 values in order, as F16's.
#pragma once

#include <cstdint>

#include "tensor/dtype.h"

namespace tenbin::kernels {

enum class KvLayout : uint8_t { kRows, kHeadBlocks };

// In kHeadBlocks, the element (in the cache's value count) where kv head g's tile of block
// `block` starts; the element types' byte sizes apply on top (kv_bytes).
inline int64_t kv_tile_element(int64_t block, int64_t row_stride, int head_dim, int g,
                               int block_size) {
  return (block * row_stride + int64_t{g} * head_dim) * block_size;
}

// Element index of (kv head g, element d) of slot `slot` in the K array (is_key) or the V array.
inline int64_t kv_element_index(KvLayout layout, bool is_key, int64_t slot, int block_size,
                                int64_t row_stride, int head_dim, int g, int d) {
  if (layout == KvLayout::kRows) return slot * row_stride + int64_t{g} * head_dim + d;
  const int64_t block = slot / block_size, j = slot % block_size;
  const int64_t tile = kv_tile_element(block, row_stride, head_dim, g, block_size);
  return tile + (is_key ? int64_t{d} * block_size + j : j * head_dim + d);
}

// Elements from a layer's K or V array to kv head g's part of it: what a view of that head
// alone (n_kv_heads = 1, the same row_stride) starts from.
inline int64_t kv_head_offset(KvLayout layout, int block_size, int head_dim, int g) {
  return int64_t{g} * head_dim * (layout == KvLayout::kRows ? 1 : block_size);
}

// Elements of a Q8_0 cache per scale.
inline constexpr int kKvQ8Group = 32;

// Bytes that `elems` elements of a K or V array of `type` take (F32, F16, BF16 or Q8_0; for
// Q8_0 a multiple of 16 elements, as every tile and row start is).
inline int64_t kv_bytes(DType type, int64_t elems) {
  if (type == DType::kQ8_0) return elems / 16 * 17;
  return elems * (type == DType::kF16 || type == DType::kBF16 ? 2 : 4);
}

// Element index (2-byte units) of (kv head g, element d) of slot `slot` in a BF16 K (is_key)
// or V array.
inline int64_t kv_bf16_index(KvLayout layout, bool is_key, int64_t slot, int block_size,
                             int64_t row_stride, int head_dim, int g, int d) {
  if (layout == KvLayout::kRows) return slot * row_stride + int64_t{g} * head_dim + d;
  const int64_t block = slot / block_size, j = slot % block_size;
  const int64_t tile = kv_tile_element(block, row_stride, head_dim, g, block_size);
  if (is_key) return tile + (int64_t{d} / 2 * block_size + j) * 2 + d % 2;
  return tile + (j / 2 * head_dim + d) * 2 + j % 2;
}

// Byte of the int8 quant of (kv head g, element d) of slot `slot` in a Q8_0 K or V array.
inline int64_t kv_q8_quant_byte(KvLayout layout, bool is_key, int64_t slot, int block_size,
                                int64_t row_stride, int head_dim, int g, int d) {
  if (layout == KvLayout::kRows) {
    const int64_t e = slot * row_stride + int64_t{g} * head_dim + d;
    return e / kKvQ8Group * 34 + 2 + e % kKvQ8Group;
  }
  const int64_t block = slot / block_size, j = slot % block_size;
  const int64_t tile =
      kv_bytes(DType::kQ8_0, kv_tile_element(block, row_stride, head_dim, g, block_size));
  return tile + (is_key ? (int64_t{d} / 4 * block_size + j) * 4 + d % 4 : j * head_dim + d);
}

// Byte of the f16 scale of the 32-element group `group` (elements 32 * group ...) of kv head g
// of slot `slot` in a Q8_0 K or V array.
inline int64_t kv_q8_scale_byte(KvLayout layout, int64_t slot, int block_size, int64_t row_stride,
                                int head_dim, int g, int group) {
  if (layout == KvLayout::kRows) {
    const int64_t e = slot * row_stride + int64_t{g} * head_dim + int64_t{group} * kKvQ8Group;
    return e / kKvQ8Group * 34;
  }
  const int64_t block = slot / block_size, j = slot % block_size;
  const int64_t tile =
      kv_bytes(DType::kQ8_0, kv_tile_element(block, row_stride, head_dim, g, block_size));
  return tile + int64_t{head_dim} * block_size + (int64_t{group} * block_size + j) * 2;
}

}  // namespace tenbin::kernels
