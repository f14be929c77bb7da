// Packing and unpacking of the 16-row interleaved layout (see packed_layout.h).
#include "kernels/packed_layout.h"

#include <cstring>

#include "tensor/blocks.h"

namespace tenbin::kernels {
namespace {

int64_t quant_bytes(DType type) {
  return type == DType::kQ4_0 ? kQK / 2 : kQK;
}

// Byte `i` of row `lane`'s block quants within a packed group block's quant area, and the
// transform from the stored byte (XOR 0x80 for Q8_0, none for Q4_0: nibbles stay as stored).
int64_t quant_offset(int64_t lane, int64_t i) {
  return (i / 4) * (4 * kPackRows) + lane * 4 + (i % 4);
}

uint8_t stored_to_packed(DType type, uint8_t b) {
  return type == DType::kQ8_0 ? static_cast<uint8_t>(b ^ 0x80) : b;
}

}  // namespace

bool packable16(const MatrixView& w) {
  if (w.layout != WeightLayout::kRows || w.rows <= 0 || w.rows % kPackRows != 0 || w.cols <= 0) {
    return false;
  }
  if (w.type == DType::kF16) return true;
  return (w.type == DType::kQ4_0 || w.type == DType::kQ8_0) && w.cols % kQK == 0;
}

int packed16_weight_bias(DType type) {
  return type == DType::kQ4_0 ? 8 : 128;
}

int64_t packed16_block_bytes(DType type) {
  return kPackRows * (2 + quant_bytes(type));
}

int64_t packed16_bytes(const MatrixView& w) {
  if (w.type == DType::kF16) return w.rows * w.cols * 2;
  return w.rows * (w.cols / kQK) * (2 + quant_bytes(w.type));
}

MatrixView pack16(const MatrixView& w, uint8_t* dst) {
  MatrixView packed = w;
  packed.data = dst;
  packed.layout = WeightLayout::kPacked16;
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
          out[2 * kPackRows + quant_offset(lane, i)] = stored_to_packed(w.type, blk[2 + i]);
        }
      }
    }
  }
  return packed;
}

void unpack16_row(const MatrixView& packed, int64_t r, void* dst) {
  if (packed.type == DType::kF16) {
    const int64_t g = r / kPackRows, lane = r % kPackRows;
    const auto* col0 = static_cast<const uint16_t*>(packed.data) + g * kPackRows * packed.cols;
    auto* out = static_cast<uint16_t*>(dst);
    for (int64_t k = 0; k < packed.cols; ++k) out[k] = col0[k * kPackRows + lane];
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
      blk[2 + i] = stored_to_packed(packed.type, in[2 * kPackRows + quant_offset(lane, i)]);
    }
  }
}

}  // namespace tenbin::kernels
