#include "model/kv_cache.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "backend/cpu_backend.h"
#include "kernels/kv_layout.h"

namespace tenbin {
namespace {

constexpr double kMaxBytes = 256.0 * (1ull << 30);

// Whether a cache of `type` can live in `backend`'s memory (host memory for the CPU backend
// when there is none).
bool kv_type_supported(const backend::Backend* backend, DType type) {
  return backend != nullptr ? backend->kv_type_supported(type)
                            : backend::cpu_kv_type_supported(type);
}

}  // namespace

int64_t KvCache::block_bytes(const KvCacheOptions& options) {
  return 2 * options.n_layer * kernels::kv_bytes(options.type, options.block_size * options.kv_dim);
}

Expected<KvCache> KvCache::create(const KvCacheOptions& options, backend::Backend* backend) {
  if (!kv_type_supported(backend, options.type)) {
    std::vector<std::string_view> names;
    for (DType t : {DType::kF16, DType::kF32, DType::kBF16, DType::kQ8_0}) {
      if (kv_type_supported(backend, t)) names.push_back(dtype_name(t));
    }
    const std::string last = std::string(names.back());
    names.pop_back();
    return Status::Errorf("KV cache type {} is not supported{} ({} or {})",
                          dtype_name(options.type),
                          backend != nullptr ? " by " + backend->name() : std::string(),
                          fmt::join(names, ", "), last);
  }
  if (options.n_layer < 1 || options.kv_dim < 1 || options.n_blocks < 1 || options.block_size < 1) {
    return Status::Errorf(
        "KV cache shape is invalid (layers {}, kv_dim {}, blocks {}, block size {})",
        options.n_layer, options.kv_dim, options.n_blocks, options.block_size);
  }
  if (options.head_dim < 0 || (options.head_dim > 0 && options.kv_dim % options.head_dim != 0)) {
    return Status::Errorf("KV cache head size {} does not divide kv_dim {}", options.head_dim,
                          options.kv_dim);
  }
  const int64_t head_dim = options.head_dim > 0 ? options.head_dim : options.kv_dim;
  if (options.type == DType::kQ8_0 && head_dim % kernels::kKvQ8Group != 0) {
    return Status::Errorf(
        "a q8_0 KV cache quantizes each head's row in groups of {} values; this model's head size "
        "{} is not a multiple of {} (use --kv-type f16)",
        kernels::kKvQ8Group, head_dim, kernels::kKvQ8Group);
  }
  if (options.type == DType::kBF16 && (head_dim % 2 != 0 || options.block_size % 2 != 0)) {
    return Status::Errorf(
        "a bf16 KV cache keeps values in pairs; head size {} and block size {} must both be even "
        "(use --kv-type f16)",
        head_dim, options.block_size);
  }
  if (options.n_blocks > INT32_MAX) {
    return Status::Errorf("KV cache of {} blocks has more than 2^31 - 1 blocks", options.n_blocks);
  }
  const double bytes = static_cast<double>(block_bytes(options)) * options.n_blocks;
  if (bytes > kMaxBytes) {
    return Status::Errorf("KV cache of {:.1f} GiB is too large; lower --ctx or --kv-cache-gib",
                          bytes / (1ull << 30));
  }
  KvCache cache;
  cache.opt_ = options;
  if (backend == nullptr) {
    cache.data_ = backend::host_buffer(static_cast<size_t>(bytes));
    if (!cache.data_) {
      return Status::Errorf("out of memory allocating a KV cache of {:.2f} GiB",
                            bytes / (1ull << 30));
    }
  } else {
    Expected<backend::Buffer> buffer = backend->allocate(static_cast<size_t>(bytes));
    if (!buffer.ok()) {
      return Status::Errorf("KV cache of {:.2f} GiB on {}: {}", bytes / (1ull << 30),
                            backend->name(), buffer.status().message());
    }
    cache.data_ = std::move(*buffer);
    cache.host_ = backend->host_memory();
  }
  return cache;
}

Expected<KvCache> KvCache::create_for_bytes(KvCacheOptions options, double budget_bytes,
                                            backend::Backend* backend) {
  options.n_blocks = 1;  // only to validate the shape before dividing by a block's bytes
  if (options.n_layer < 1 || options.kv_dim < 1 || options.block_size < 1) {
    return create(options, backend);  // the shape error
  }
  const int64_t per_block = block_bytes(options);
  const double n = std::floor(budget_bytes / static_cast<double>(per_block));
  if (!(n >= 1)) {
    return Status::Errorf(
        "a KV cache budget of {:.0f} bytes ({:.3g} GiB) holds no block: one block of {} tokens "
        "needs {} bytes ({} layers x K and V x {} tokens x {} {} values)",
        budget_bytes, budget_bytes / (1ull << 30), options.block_size, per_block, options.n_layer,
        options.block_size, options.kv_dim, dtype_name(options.type));
  }
  options.n_blocks = static_cast<int64_t>(std::min(n, static_cast<double>(INT32_MAX)));
  return create(options, backend);
}

int64_t KvCache::offset(int64_t layer, int which) const {
  return (layer * 2 + which) * kernels::kv_bytes(opt_.type, n_slots() * opt_.kv_dim);
}

backend::KvLayer KvCache::layer(int64_t layer) const {
  backend::KvLayer l;
  l.k = base() + offset(layer, 0);
  l.v = base() + offset(layer, 1);
  l.row_stride = opt_.kv_dim;
  l.head_dim = static_cast<int>(opt_.head_dim > 0 ? opt_.head_dim : opt_.kv_dim);
  l.block_size = static_cast<int>(opt_.block_size);
  l.type = opt_.type;
  return l;
}

std::vector<int32_t> contiguous_block_table(int64_t n_tokens, int64_t block_size) {
  std::vector<int32_t> table(static_cast<size_t>(KvCache::blocks_for(n_tokens, block_size)));
  for (size_t i = 0; i < table.size(); ++i) table[i] = static_cast<int32_t>(i);
  return table;
}

}  // namespace tenbin
