// Key/value cache of a decoder: for every layer, sequence slot and position, the rotated key
// and the value of each KV head, stored as F16 (default, like llama.cpp) or F32. Each slot is
// contiguous over positions ([n_ctx, n_head_kv * head_dim] per layer), which the attention
// kernel reads with a row stride. The serving engine's paged cache replaces the slot layout.
#pragma once

#include <cstdint>
#include <vector>

#include "tensor/dtype.h"
#include "util/status.h"

namespace tenbin {

struct KvCacheOptions {
  int64_t n_layer = 0;
  int64_t n_ctx = 0;     // positions per sequence slot
  int64_t kv_dim = 0;    // n_head_kv * head_dim
  int64_t n_seq = 1;     // sequence slots
  DType type = DType::kF16;
};

class KvCache {
 public:
  static Expected<KvCache> create(const KvCacheOptions& options);

  const KvCacheOptions& options() const { return opt_; }
  DType type() const { return opt_.type; }
  int64_t n_ctx() const { return opt_.n_ctx; }
  int64_t row_stride() const { return opt_.kv_dim; }  // elements between positions

  // Start of [n_ctx, kv_dim] keys (or values) of `layer` for sequence slot `seq`.
  void* keys(int64_t layer, int64_t seq) { return base(layer, seq, 0); }
  void* values(int64_t layer, int64_t seq) { return base(layer, seq, 1); }

  // Converts one row of kv_dim f32 values into the cache at `pos`.
  void store_key(int64_t layer, int64_t seq, int64_t pos, const float* row);
  void store_value(int64_t layer, int64_t seq, int64_t pos, const float* row);

  size_t bytes() const { return data_.size(); }

 private:
  void* base(int64_t layer, int64_t seq, int which);
  void store(void* dst, int64_t pos, const float* row);

  KvCacheOptions opt_;
  int64_t elem_bytes_ = 2;
  std::vector<uint8_t> data_;
};

}  // namespace tenbin
