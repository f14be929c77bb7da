#include "model/kv_cache.h"

#include <cstring>

#include "kernels/ops.h"

namespace tenbin {

Expected<KvCache> KvCache::create(const KvCacheOptions& options) {
  if (options.type != DType::kF16 && options.type != DType::kF32) {
    return Status::Errorf("KV cache type {} is not supported (f16 or f32)",
                          dtype_name(options.type));
  }
  if (options.n_layer < 1 || options.n_ctx < 1 || options.kv_dim < 1 || options.n_seq < 1) {
    return Status::Errorf("KV cache shape is invalid (layers {}, ctx {}, kv_dim {}, seqs {})",
                          options.n_layer, options.n_ctx, options.kv_dim, options.n_seq);
  }
  KvCache cache;
  cache.opt_ = options;
  cache.elem_bytes_ = options.type == DType::kF16 ? 2 : 4;
  const double bytes = 2.0 * options.n_layer * options.n_seq * options.n_ctx * options.kv_dim *
                       cache.elem_bytes_;
  if (bytes > 256.0 * (1ull << 30)) {
    return Status::Errorf("KV cache of {:.1f} GiB is too large; lower --ctx", bytes / (1ull << 30));
  }
  cache.data_.assign(static_cast<size_t>(bytes), 0);
  return cache;
}

void* KvCache::base(int64_t layer, int64_t seq, int which) {
  const int64_t plane = opt_.n_ctx * opt_.kv_dim * elem_bytes_;
  const int64_t index = (layer * 2 + which) * opt_.n_seq + seq;
  return data_.data() + index * plane;
}

void KvCache::store(void* dst, int64_t pos, const float* row) {
  uint8_t* out = static_cast<uint8_t*>(dst) + pos * opt_.kv_dim * elem_bytes_;
  if (opt_.type == DType::kF32) {
    std::memcpy(out, row, opt_.kv_dim * sizeof(float));
  } else {
    (void)kernels::quantize_row(DType::kF16, row, out, opt_.kv_dim);
  }
}

void KvCache::store_key(int64_t layer, int64_t seq, int64_t pos, const float* row) {
  store(keys(layer, seq), pos, row);
}

void KvCache::store_value(int64_t layer, int64_t seq, int64_t pos, const float* row) {
  store(values(layer, seq), pos, row);
}

}  // namespace tenbin
