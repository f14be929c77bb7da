// The interleaved weight layout WeightLayout::kPacked16 (ISA independent): Q4_0, Q4_1, Q5_0,
// Q5_1, Q8_0, Q2_K..Q6_K, F16 and BF16 matrices regrouped so that one load feeds 16 rows at once
// (one row per 32-bit lane). For the integer formats a lane holds four consecutive columns, as
// AVX-512 VNNI's dpbusd multiplies u8 x s8; for F16 a lane holds one column.
//
// F16: a group stores column after column, each as the 16 rows' f16 values (32 bytes).
// BF16: a group stores column pair after column pair (the column count must be even), each as
// the 16 rows' (column 2p, column 2p+1) bf16 pairs (64 bytes): one 32-bit lane per row, as
// AVX-512 BF16's vdpbf16ps multiplies pairs.
//
// Rows are split into groups of 16; a group stores its blocks (32 columns each) one after the
// other. One block of a group is 16 f16 scales (row order) followed by the quants:
//   Q4_0: 4 chunks of 64 bytes; chunk c holds, for row r, bytes qs[4c..4c+3] of r's block at
//         bytes 4r..4r+3. Low nibbles are columns 4c..4c+3, high nibbles 16+4c..16+4c+3 (the
//         stored values 0..15, i.e. the weight plus 8).
//   Q8_0: 8 chunks of 64 bytes; chunk j holds, for row r, qs[4j..4j+3] of r's block, each
//         XOR 0x80 (the weight plus 128 as u8).
//   Q5_0: Q4_0's 4 chunks of nibbles, then one 64-byte chunk of fifth bits: byte 4r+m holds,
//         for row r, the fifth bit of column 4c+m at bit 2c and of column 16+4c+m at bit
//         2c+1 (c = 0..3), so chunk c's two weight vectors take theirs with one shift each
//         (the stored values 0..31, i.e. the weight plus 16).
//   Q4_1, Q5_1: as Q4_0 and Q5_0 (levels 0..15 and 0..31, no bias), with the 16 rows' f16
//         offsets m after the 16 scales.
// A block of a group takes exactly the bytes of its 16 original blocks, so packing keeps the
// matrix size.
//
// Q4_K: one group block per 256-column super-block (2368 bytes, 2.8% more than stored):
//   16 f16 d, 16 f16 dmin; the 6-bit sub-block scales unpacked to u8, sub-block j's 16 rows at
//   64 + 16j; the mins unpacked to u8 at 192, as 4 runs of 32 bytes, run p holding for each
//   row r the pair (min 2p, min 2p+1), so widening a run to 16 bits gives one 32-bit lane per
//   row; then 32 chunks of 64 bytes, chunk 8c+i holding for row r bytes qs[32c+4i..+3] (low
//   nibbles: sub-block 2c, columns 4i..4i+3; high nibbles: sub-block 2c+1).
//
// Q5_K: one group block per super-block (2880 bytes, 2.3% more than stored): d, dmin, scales
//   and mins as in Q4_K (offsets 0..319), then eight column-quad sections of 320 bytes, one
//   per quad i (columns 4i..4i+3 of every 32-column sub-block): four quant chunks, chunk c
//   holding for row r bytes qs[32c+4i..+3] (low nibbles: sub-block 2c, high: 2c+1), then one
//   high-bit chunk holding qh[4i..4i+3] (bit j: sub-block j). A quad's section is what the
//   reference's lane k = i needs (ref dot_q5_k_lanes), read as one stream.
//
// Q2_K and Q3_K: one group block per super-block. Q2_K (1344 bytes, the stored size): 16 f16 d,
//   16 f16 dmin, the scale bytes as stored (low nibble scale, high nibble min), sub-block g's
//   16 rows at 64 + 16g, then 16 quant chunks, chunk 8h+i holding for row r bytes
//   qs[32h+4i..+3] (bit pair s: columns 128h + 32s + 4i..+3). Q3_K (1824 bytes, 3.6% more
//   than stored): 16 f16 d, the signed scales unpacked to int8 at 32 + 16g, then 8 high-bit
//   chunks (chunk i: hmask[4i..4i+3]; bit r: run r = 4h + s) and the 16 quant chunks as Q2_K's.
//
// Q6_K: one group block per super-block, the stored size (3360 bytes): 16 f16 d; the int8
//   scales, sub-block j's 16 rows at 32 + 16j; then the quant chunks (the stored bit layout,
//   only regrouped: low-bit chunk c holds for row r bytes ql[4c..4c+3], high-bit chunk c
//   holds qh[4c..4c+3]). The chunks read together are adjacent: for half h (elements 128h..)
//   and column quad i, low chunks 16h+i and 16h+8+i and high chunk 8h+i follow each other
//   (q6k_low_chunk, q6k_high_chunk), so a matrix is read as one stream. (Three separate
//   regions per block read side by side are three short streams that the hardware
//   prefetcher does not follow: 11 GB/s from memory on one core against 26 for one stream.)
// Unsigned weights times signed activations are corrected by the activation sum:
// sum((w + k) * a) - k * sum(a), exact in integers.
#pragma once

#include <cstdint>

#include "kernels/ops.h"

namespace tenbin::kernels {

inline constexpr int64_t kPackRows = 16;

// Offsets inside a packed Q4_K group block.
inline constexpr int64_t kQ4KPackedDmin = 32, kQ4KPackedScales = 64, kQ4KPackedMins = 192,
                         kQ4KPackedQuants = 320, kQ4KPackedBlock = 2368;
// Offsets inside a packed Q5_K group block: d, dmin, scales and mins as in Q4_K, then the
// column-quad sections.
inline constexpr int64_t kQ5KPackedQuads = 320, kQ5KPackedQuad = 320, kQ5KPackedBlock = 2880;

// Offsets of quant chunk c (0..3) and of the high-bit chunk of column quad i (0..7) inside a
// packed Q5_K block.
constexpr int64_t q5k_quant_chunk(int64_t i, int64_t c) {
  return kQ5KPackedQuads + kQ5KPackedQuad * i + 64 * c;
}
constexpr int64_t q5k_high_chunk(int64_t i) {
  return kQ5KPackedQuads + kQ5KPackedQuad * i + 256;
}

// Offsets inside packed Q2_K and Q3_K group blocks.
inline constexpr int64_t kQ2KPackedDmin = 32, kQ2KPackedScales = 64, kQ2KPackedQuants = 320,
                         kQ2KPackedBlock = 1344;
inline constexpr int64_t kQ3KPackedScales = 32, kQ3KPackedHmask = 288, kQ3KPackedQuants = 800,
                         kQ3KPackedBlock = 1824;

// Offsets inside a packed Q6_K group block.
inline constexpr int64_t kQ6KPackedScales = 32, kQ6KPackedQuants = 288, kQ6KPackedBlock = 3360;

// Offsets of low-bit chunk c (0..31) and high-bit chunk c (0..15) inside a packed Q6_K block.
constexpr int64_t q6k_low_chunk(int64_t c) {
  return kQ6KPackedQuants + 64 * (3 * (8 * (c / 16) + c % 8) + (c / 8) % 2);
}
constexpr int64_t q6k_high_chunk(int64_t c) {
  return kQ6KPackedQuants + 64 * (3 * c + 2);
}

// True when `w` (layout kRows) can be packed: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K, F16 or
// BF16 (an even column count), rows a multiple of 16.
bool packable16(const MatrixView& w);

// The weight bias k (8 for Q4_0, 16 for Q5_0, 128 for Q8_0, 0 for Q4_1/Q5_1), and the bytes of one
// packed group block (integer formats only).
int packed16_weight_bias(DType type);
int64_t packed16_block_bytes(DType type);

// Bytes of the packed matrix.
int64_t packed16_bytes(const MatrixView& w);

// Packs `w` into `dst` (packed16_bytes(w) bytes); returns the packed view over `dst`.
MatrixView pack16(const MatrixView& w, uint8_t* dst);

// Rebuilds row `r` of a packed matrix in its stored block format (row_bytes(type, cols)).
void unpack16_row(const MatrixView& packed, int64_t r, void* dst);

}  // namespace tenbin::kernels
