// Packing and unpacking of the 16-row interleaved layout (see packed_layout.h).
#include "kernels/packed_layout.h"

#include <cstring>
#include <type_traits>

#include "tensor/blocks.h"
#include "tensor/dtype.h"

namespace tenbin::kernels {
namespace {

// Where element (r, k) of a BF16 matrix with `cols` columns lands in its packed layout, in
// 16-bit units: group, column pair, row lane, then the pair's half.
int64_t bf16_packed_index(int64_t cols, int64_t r, int64_t k) {
  return (r / kPackRows) * kPackRows * cols + (k / 2) * 2 * kPackRows + (r % kPackRows) * 2 + k % 2;
}

// Bytes after the f16 scale in a stored block (Q4_1/Q5_1: the f16 m first; Q5_0/Q5_1: 4 bytes
// of high bits, then the nibbles).
int64_t quant_bytes(DType type) {
  switch (type) {
    case DType::kQ4_0:
      return kQK / 2;
    case DType::kQ5_0:
      return 4 + kQK / 2;
    case DType::kQ4_1:
      return 2 + kQK / 2;
    case DType::kQ5_1:
      return 2 + 4 + kQK / 2;
    default:
      return kQK;
  }
}

template <class Block>
inline constexpr bool kHasOffsetField =
    std::is_same_v<Block, BlockQ4_1> || std::is_same_v<Block, BlockQ5_1>;
template <class Block>
inline constexpr bool kHasHighBits =
    std::is_same_v<Block, BlockQ5_0> || std::is_same_v<Block, BlockQ5_1>;

// Where byte `i` of row `lane`'s stored bytes lands in a run of 64-byte chunks starting at
// `base` of a packed group block (four bytes per row per chunk, in stored byte order): the
// same rule places the quants of every packed format.
int64_t chunk_offset(int64_t base, int64_t lane, int64_t i) {
  return base + (i / 4) * (4 * kPackRows) + lane * 4 + (i % 4);
}

// The transform from the stored byte (XOR 0x80 for Q8_0, none for Q4_0: nibbles stay as
// stored).

uint8_t stored_to_packed(DType type, uint8_t b) {
  return type == DType::kQ8_0 ? static_cast<uint8_t>(b ^ 0x80) : b;
}

// Q4_K: unpacked scale/min j of a stored block, and the inverse (the 12-byte encoding uses
// every bit, so it round-trips exactly).
void k4_pack_scale_min(const uint8_t* sc, const uint8_t* mn, uint8_t* s) {
  for (int j = 0; j < 4; ++j) {
    s[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    s[j + 4] = static_cast<uint8_t>((mn[j] & 63) | ((mn[j + 4] >> 4) << 6));
    s[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4));
  }
}

// The Q4_K/Q5_K group block header (d, dmin, unpacked scales and mins) of row `lane`, and back.
template <class Block>
void pack_k4_header(const Block& blk, int64_t lane, uint8_t* out) {
  std::memcpy(out + 2 * lane, &blk.d, 2);
  std::memcpy(out + kQ4KPackedDmin + 2 * lane, &blk.dmin, 2);
  for (int j = 0; j < 8; ++j) {
    uint8_t sc = 0, mn = 0;
    k4_scale_min(j, blk.scales, &sc, &mn);
    out[kQ4KPackedScales + 16 * j + lane] = sc;
    out[kQ4KPackedMins + 32 * (j / 2) + 2 * lane + (j % 2)] = mn;
  }
}

template <class Block>
void unpack_k4_header(const uint8_t* in, int64_t lane, Block& blk) {
  std::memcpy(&blk.d, in + 2 * lane, 2);
  std::memcpy(&blk.dmin, in + kQ4KPackedDmin + 2 * lane, 2);
  uint8_t sc[8], mn[8];
  for (int j = 0; j < 8; ++j) {
    sc[j] = in[kQ4KPackedScales + 16 * j + lane];
    mn[j] = in[kQ4KPackedMins + 32 * (j / 2) + 2 * lane + (j % 2)];
  }
  k4_pack_scale_min(sc, mn, blk.scales);
}

// Where byte `i` of row `lane`'s qs (Q5_K) and qh land in a packed Q5_K block.
int64_t q5k_qs_offset(int64_t lane, int64_t i) {
  return q5k_quant_chunk((i % 32) / 4, i / 32) + 4 * lane + i % 4;
}
int64_t q5k_qh_offset(int64_t lane, int64_t i) {
  return q5k_high_chunk(i / 4) + 4 * lane + i % 4;
}

// The block walk every packed block format shares. pack_blocks calls fn(stored block, lane,
// group block) for each row `lane` of each 16-row group and each block of `w`; unpack_blocks
// calls fn(group block, lane, stored block to fill) for each block of packed row `r`.
template <class Block, class Fn>
void pack_blocks(const MatrixView& w, int64_t group_block_bytes, uint8_t* dst, Fn&& fn) {
  const int64_t nb = w.cols / traits(w.type).block_elems;
  const auto* src = static_cast<const Block*>(w.data);
  for (int64_t g = 0; g < w.rows / kPackRows; ++g) {
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* out = dst + (g * nb + b) * group_block_bytes;
      for (int64_t lane = 0; lane < kPackRows; ++lane) {
        fn(src[(g * kPackRows + lane) * nb + b], lane, out);
      }
    }
  }
}

template <class Block, class Fn>
void unpack_blocks(const MatrixView& packed, int64_t r, int64_t group_block_bytes, void* dst,
                   Fn&& fn) {
  const int64_t nb = packed.cols / traits(packed.type).block_elems;
  const int64_t g = r / kPackRows, lane = r % kPackRows;
  const auto* src = static_cast<const uint8_t*>(packed.data);
  auto* out = static_cast<Block*>(dst);
  for (int64_t b = 0; b < nb; ++b) fn(src + (g * nb + b) * group_block_bytes, lane, out[b]);
}

void pack16_q4_k(const MatrixView& w, uint8_t* dst) {
  pack_blocks<BlockQ4_K>(w, kQ4KPackedBlock, dst,
                         [](const BlockQ4_K& blk, int64_t lane, uint8_t* out) {
                           pack_k4_header(blk, lane, out);
                           for (int64_t i = 0; i < kQKK / 2; ++i)
                             out[chunk_offset(kQ4KPackedQuants, lane, i)] = blk.qs[i];
                         });
}

void unpack16_row_q4_k(const MatrixView& packed, int64_t r, void* dst) {
  unpack_blocks<BlockQ4_K>(packed, r, kQ4KPackedBlock, dst,
                           [](const uint8_t* in, int64_t lane, BlockQ4_K& blk) {
                             unpack_k4_header(in, lane, blk);
                             for (int64_t i = 0; i < kQKK / 2; ++i)
                               blk.qs[i] = in[chunk_offset(kQ4KPackedQuants, lane, i)];
                           });
}

void pack16_q5_k(const MatrixView& w, uint8_t* dst) {
  pack_blocks<BlockQ5_K>(w, kQ5KPackedBlock, dst,
                         [](const BlockQ5_K& blk, int64_t lane, uint8_t* out) {
                           pack_k4_header(blk, lane, out);
                           for (int64_t i = 0; i < kQKK / 2; ++i)
                             out[q5k_qs_offset(lane, i)] = blk.qs[i];
                           for (int64_t i = 0; i < kQKK / 8; ++i)
                             out[q5k_qh_offset(lane, i)] = blk.qh[i];
                         });
}

void unpack16_row_q5_k(const MatrixView& packed, int64_t r, void* dst) {
  unpack_blocks<BlockQ5_K>(packed, r, kQ5KPackedBlock, dst,
                           [](const uint8_t* in, int64_t lane, BlockQ5_K& blk) {
                             unpack_k4_header(in, lane, blk);
                             for (int64_t i = 0; i < kQKK / 2; ++i)
                               blk.qs[i] = in[q5k_qs_offset(lane, i)];
                             for (int64_t i = 0; i < kQKK / 8; ++i)
                               blk.qh[i] = in[q5k_qh_offset(lane, i)];
                           });
}

// Q3_K's 12 scale bytes from the 16 6-bit values (offset 32): the inverse of q3k_scale.
void q3k_pack_scales(const int* v, uint8_t* s) {
  for (int j = 0; j < 8; ++j) s[j] = static_cast<uint8_t>((v[j] & 0xF) | ((v[j + 8] & 0xF) << 4));
  for (int k = 0; k < 4; ++k) {
    int high = 0;
    for (int q = 0; q < 4; ++q) high |= ((v[k + 4 * q] >> 4) & 3) << (2 * q);
    s[8 + k] = static_cast<uint8_t>(high);
  }
}

void pack16_q2_k(const MatrixView& w, uint8_t* dst) {
  pack_blocks<BlockQ2_K>(w, kQ2KPackedBlock, dst,
                         [](const BlockQ2_K& blk, int64_t lane, uint8_t* out) {
                           std::memcpy(out + 2 * lane, &blk.d, 2);
                           std::memcpy(out + kQ2KPackedDmin + 2 * lane, &blk.dmin, 2);
                           for (int j = 0; j < 16; ++j)
                             out[kQ2KPackedScales + 16 * j + lane] = blk.scales[j];
                           for (int64_t i = 0; i < kQKK / 4; ++i)
                             out[chunk_offset(kQ2KPackedQuants, lane, i)] = blk.qs[i];
                         });
}

void unpack16_row_q2_k(const MatrixView& packed, int64_t r, void* dst) {
  unpack_blocks<BlockQ2_K>(packed, r, kQ2KPackedBlock, dst,
                           [](const uint8_t* in, int64_t lane, BlockQ2_K& blk) {
                             std::memcpy(&blk.d, in + 2 * lane, 2);
                             std::memcpy(&blk.dmin, in + kQ2KPackedDmin + 2 * lane, 2);
                             for (int j = 0; j < 16; ++j)
                               blk.scales[j] = in[kQ2KPackedScales + 16 * j + lane];
                             for (int64_t i = 0; i < kQKK / 4; ++i)
                               blk.qs[i] = in[chunk_offset(kQ2KPackedQuants, lane, i)];
                           });
}

void pack16_q3_k(const MatrixView& w, uint8_t* dst) {
  pack_blocks<BlockQ3_K>(
      w, kQ3KPackedBlock, dst, [](const BlockQ3_K& blk, int64_t lane, uint8_t* out) {
        std::memcpy(out + 2 * lane, &blk.d, 2);
        for (int j = 0; j < 16; ++j) {
          out[kQ3KPackedScales + 16 * j + lane] =
              static_cast<uint8_t>(static_cast<int8_t>(q3k_scale(j, blk.scales) - 32));
        }
        for (int64_t i = 0; i < kQKK / 8; ++i)
          out[chunk_offset(kQ3KPackedHmask, lane, i)] = blk.hmask[i];
        for (int64_t i = 0; i < kQKK / 4; ++i)
          out[chunk_offset(kQ3KPackedQuants, lane, i)] = blk.qs[i];
      });
}

void unpack16_row_q3_k(const MatrixView& packed, int64_t r, void* dst) {
  unpack_blocks<BlockQ3_K>(
      packed, r, kQ3KPackedBlock, dst, [](const uint8_t* in, int64_t lane, BlockQ3_K& blk) {
        std::memcpy(&blk.d, in + 2 * lane, 2);
        int v[16];
        for (int j = 0; j < 16; ++j) {
          v[j] = static_cast<int8_t>(in[kQ3KPackedScales + 16 * j + lane]) + 32;
        }
        q3k_pack_scales(v, blk.scales);
        for (int64_t i = 0; i < kQKK / 8; ++i)
          blk.hmask[i] = in[chunk_offset(kQ3KPackedHmask, lane, i)];
        for (int64_t i = 0; i < kQKK / 4; ++i)
          blk.qs[i] = in[chunk_offset(kQ3KPackedQuants, lane, i)];
      });
}

// The 32-column formats with nibbles in chunks: the header bytes (16 f16 d, and Q4_1/Q5_1's
// 16 f16 m), where the nibble chunks start, and for Q5_0/Q5_1 where bit j of row `lane`'s
// high-bit word lands (byte (lane, j % 4) of the high-bit chunk after the nibbles, bit
// 2 * ((j % 16) / 4) + j / 16).
int64_t nibble_chunks_at(DType type) {
  return type == DType::kQ4_1 || type == DType::kQ5_1 ? 4 * kPackRows : 2 * kPackRows;
}
int64_t high_bit_byte(DType type, int64_t lane, int j) {
  return nibble_chunks_at(type) + 4 * 64 + 4 * lane + j % 4;
}
int high_bit_position(int j) {
  return 2 * ((j % 16) / 4) + j / 16;
}

// Q5_0, Q4_1, Q5_1 (the stored blocks differ only in which of m and qh they have).
template <class Block>
void pack16_nibbles(const MatrixView& w, uint8_t* dst) {
  constexpr bool kOffset = kHasOffsetField<Block>, kHigh = kHasHighBits<Block>;
  const DType type = w.type;
  const int64_t nibbles = nibble_chunks_at(type);
  pack_blocks<Block>(w, packed16_block_bytes(type), dst,
                     [&](const Block& blk, int64_t lane, uint8_t* out) {
                       std::memcpy(out + 2 * lane, &blk.d, 2);
                       if constexpr (kOffset)
                         std::memcpy(out + 2 * kPackRows + 2 * lane, &blk.m, 2);
                       for (int64_t i = 0; i < kQK / 2; ++i)
                         out[chunk_offset(nibbles, lane, i)] = blk.qs[i];
                       if constexpr (kHigh) {
                         if (lane == 0) std::memset(out + high_bit_byte(type, 0, 0), 0, 64);
                         uint32_t bits = 0;
                         std::memcpy(&bits, blk.qh, 4);
                         for (int j = 0; j < kQK; ++j) {
                           out[high_bit_byte(type, lane, j)] |=
                               static_cast<uint8_t>(((bits >> j) & 1) << high_bit_position(j));
                         }
                       }
                     });
}

template <class Block>
void unpack16_row_nibbles(const MatrixView& packed, int64_t r, void* dst) {
  constexpr bool kOffset = kHasOffsetField<Block>, kHigh = kHasHighBits<Block>;
  const DType type = packed.type;
  const int64_t nibbles = nibble_chunks_at(type);
  unpack_blocks<Block>(
      packed, r, packed16_block_bytes(type), dst, [&](const uint8_t* in, int64_t lane, Block& blk) {
        std::memcpy(&blk.d, in + 2 * lane, 2);
        if constexpr (kOffset) std::memcpy(&blk.m, in + 2 * kPackRows + 2 * lane, 2);
        for (int64_t i = 0; i < kQK / 2; ++i) blk.qs[i] = in[chunk_offset(nibbles, lane, i)];
        if constexpr (kHigh) {
          uint32_t bits = 0;
          for (int j = 0; j < kQK; ++j) {
            bits |= static_cast<uint32_t>(
                        (in[high_bit_byte(type, lane, j)] >> high_bit_position(j)) & 1)
                    << j;
          }
          std::memcpy(blk.qh, &bits, 4);
        }
      });
}

void pack16_q6_k(const MatrixView& w, uint8_t* dst) {
  pack_blocks<BlockQ6_K>(
      w, kQ6KPackedBlock, dst, [](const BlockQ6_K& blk, int64_t lane, uint8_t* out) {
        std::memcpy(out + 2 * lane, &blk.d, 2);
        for (int j = 0; j < 16; ++j) {
          out[kQ6KPackedScales + 16 * j + lane] = static_cast<uint8_t>(blk.scales[j]);
        }
        for (int64_t i = 0; i < kQKK / 2; ++i)
          out[q6k_low_chunk(i / 4) + 4 * lane + i % 4] = blk.ql[i];
        for (int64_t i = 0; i < kQKK / 4; ++i)
          out[q6k_high_chunk(i / 4) + 4 * lane + i % 4] = blk.qh[i];
      });
}

void unpack16_row_q6_k(const MatrixView& packed, int64_t r, void* dst) {
  unpack_blocks<BlockQ6_K>(
      packed, r, kQ6KPackedBlock, dst, [](const uint8_t* in, int64_t lane, BlockQ6_K& blk) {
        std::memcpy(&blk.d, in + 2 * lane, 2);
        for (int j = 0; j < 16; ++j) {
          blk.scales[j] = static_cast<int8_t>(in[kQ6KPackedScales + 16 * j + lane]);
        }
        for (int64_t i = 0; i < kQKK / 2; ++i)
          blk.ql[i] = in[q6k_low_chunk(i / 4) + 4 * lane + i % 4];
        for (int64_t i = 0; i < kQKK / 4; ++i)
          blk.qh[i] = in[q6k_high_chunk(i / 4) + 4 * lane + i % 4];
      });
}

}  // namespace

bool packable16(const MatrixView& w) {
  if (w.layout != WeightLayout::kRows || w.rows <= 0 || w.rows % kPackRows != 0 || w.cols <= 0) {
    return false;
  }
  if (w.type == DType::kF16) return true;
  if (w.type == DType::kBF16) return w.cols % 2 == 0;
  if (w.type == DType::kQ2_K || w.type == DType::kQ3_K || w.type == DType::kQ4_K ||
      w.type == DType::kQ5_K || w.type == DType::kQ6_K) {
    return w.cols % kQKK == 0;
  }
  return (w.type == DType::kQ4_0 || w.type == DType::kQ5_0 || w.type == DType::kQ4_1 ||
          w.type == DType::kQ5_1 || w.type == DType::kQ8_0) &&
         w.cols % kQK == 0;
}

int packed16_weight_bias(DType type) {
  if (type == DType::kQ4_1 || type == DType::kQ5_1) return 0;
  if (type == DType::kQ5_0) return 16;
  return type == DType::kQ4_0 ? 8 : 128;
}

int64_t packed16_block_bytes(DType type) {
  return kPackRows * (2 + quant_bytes(type));
}

int64_t packed16_bytes(const MatrixView& w) {
  if (w.type == DType::kF16 || w.type == DType::kBF16) return w.rows * w.cols * 2;
  if (w.type == DType::kQ4_K) return w.rows / kPackRows * (w.cols / kQKK) * kQ4KPackedBlock;
  if (w.type == DType::kQ2_K) return w.rows / kPackRows * (w.cols / kQKK) * kQ2KPackedBlock;
  if (w.type == DType::kQ3_K) return w.rows / kPackRows * (w.cols / kQKK) * kQ3KPackedBlock;
  if (w.type == DType::kQ5_K) return w.rows / kPackRows * (w.cols / kQKK) * kQ5KPackedBlock;
  if (w.type == DType::kQ6_K) return w.rows / kPackRows * (w.cols / kQKK) * kQ6KPackedBlock;
  return w.rows * (w.cols / kQK) * (2 + quant_bytes(w.type));
}

MatrixView pack16(const MatrixView& w, uint8_t* dst) {
  MatrixView packed = w;
  packed.data = dst;
  packed.layout = WeightLayout::kPacked16;
  if (w.type == DType::kBF16) {
    const auto* src = static_cast<const uint16_t*>(w.data);
    auto* out = reinterpret_cast<uint16_t*>(dst);
    for (int64_t r = 0; r < w.rows; ++r) {
      for (int64_t k = 0; k < w.cols; ++k)
        out[bf16_packed_index(w.cols, r, k)] = src[r * w.cols + k];
    }
    return packed;
  }
  if (w.type == DType::kF16) {
    const auto* src = static_cast<const uint16_t*>(w.data);
    auto* out = reinterpret_cast<uint16_t*>(dst);
    for (int64_t g = 0; g < w.rows / kPackRows; ++g) {
      for (int64_t lane = 0; lane < kPackRows; ++lane) {
        const uint16_t* row = src + (g * kPackRows + lane) * w.cols;
        uint16_t* col0 = out + g * kPackRows * w.cols + lane;
        for (int64_t k = 0; k < w.cols; ++k) col0[k * kPackRows] = row[k];
      }
    }
    return packed;
  }
  if (w.type == DType::kQ4_K) {
    pack16_q4_k(w, dst);
    return packed;
  }
  if (w.type == DType::kQ5_0) {
    pack16_nibbles<BlockQ5_0>(w, dst);
    return packed;
  }
  if (w.type == DType::kQ4_1) {
    pack16_nibbles<BlockQ4_1>(w, dst);
    return packed;
  }
  if (w.type == DType::kQ5_1) {
    pack16_nibbles<BlockQ5_1>(w, dst);
    return packed;
  }
  if (w.type == DType::kQ2_K) {
    pack16_q2_k(w, dst);
    return packed;
  }
  if (w.type == DType::kQ3_K) {
    pack16_q3_k(w, dst);
    return packed;
  }
  if (w.type == DType::kQ5_K) {
    pack16_q5_k(w, dst);
    return packed;
  }
  if (w.type == DType::kQ6_K) {
    pack16_q6_k(w, dst);
    return packed;
  }
  const int64_t nb = w.cols / kQK, qb = quant_bytes(w.type);
  const int64_t stored_block = 2 + qb, group_block = packed16_block_bytes(w.type);
  const auto* src = static_cast<const uint8_t*>(w.data);
  for (int64_t g = 0; g < w.rows / kPackRows; ++g) {
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* out = dst + (g * nb + b) * group_block;
      for (int64_t lane = 0; lane < kPackRows; ++lane) {
        const uint8_t* blk = src + ((g * kPackRows + lane) * nb + b) * stored_block;
        std::memcpy(out + 2 * lane, blk, 2);  // f16 scale
        for (int64_t i = 0; i < qb; ++i) {
          out[chunk_offset(2 * kPackRows, lane, i)] = stored_to_packed(w.type, blk[2 + i]);
        }
      }
    }
  }
  return packed;
}

void unpack16_row(const MatrixView& packed, int64_t r, void* dst) {
  if (packed.type == DType::kBF16) {
    const auto* src = static_cast<const uint16_t*>(packed.data);
    auto* out = static_cast<uint16_t*>(dst);
    for (int64_t k = 0; k < packed.cols; ++k) out[k] = src[bf16_packed_index(packed.cols, r, k)];
    return;
  }
  if (packed.type == DType::kF16) {
    const int64_t g = r / kPackRows, lane = r % kPackRows;
    const auto* col0 = static_cast<const uint16_t*>(packed.data) + g * kPackRows * packed.cols;
    auto* out = static_cast<uint16_t*>(dst);
    for (int64_t k = 0; k < packed.cols; ++k) out[k] = col0[k * kPackRows + lane];
    return;
  }
  if (packed.type == DType::kQ4_K) {
    unpack16_row_q4_k(packed, r, dst);
    return;
  }
  if (packed.type == DType::kQ5_0) {
    unpack16_row_nibbles<BlockQ5_0>(packed, r, dst);
    return;
  }
  if (packed.type == DType::kQ4_1) {
    unpack16_row_nibbles<BlockQ4_1>(packed, r, dst);
    return;
  }
  if (packed.type == DType::kQ5_1) {
    unpack16_row_nibbles<BlockQ5_1>(packed, r, dst);
    return;
  }
  if (packed.type == DType::kQ2_K) {
    unpack16_row_q2_k(packed, r, dst);
    return;
  }
  if (packed.type == DType::kQ3_K) {
    unpack16_row_q3_k(packed, r, dst);
    return;
  }
  if (packed.type == DType::kQ5_K) {
    unpack16_row_q5_k(packed, r, dst);
    return;
  }
  if (packed.type == DType::kQ6_K) {
    unpack16_row_q6_k(packed, r, dst);
    return;
  }
  const int64_t nb = packed.cols / kQK, qb = quant_bytes(packed.type);
  const int64_t stored_block = 2 + qb, group_block = packed16_block_bytes(packed.type);
  const int64_t g = r / kPackRows, lane = r % kPackRows;
  const auto* src = static_cast<const uint8_t*>(packed.data);
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* in = src + (g * nb + b) * group_block;
    uint8_t* blk = out + b * stored_block;
    std::memcpy(blk, in + 2 * lane, 2);
    for (int64_t i = 0; i < qb; ++i) {
      // XOR 0x80 is its own inverse, so the same transform restores the stored byte.
      blk[2 + i] = stored_to_packed(packed.type, in[chunk_offset(2 * kPackRows, lane, i)]);
    }
  }
}

}  // namespace tenbin::kernels
