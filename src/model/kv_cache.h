// Paged key/value cache of a decoder. For every layer, K and V are each one array of
// n_blocks * block_size slots of kv_dim elements (kv_dim = n_head_kv * head_dim), stored as F16
// (default, like llama.cpp), F32, or Q8_0 (opt-in, half F16's bytes, int8 with a scale per 32
// values; on backends whose kv_type_supported() says so, head sizes a multiple of 32); slots
// are grouped in blocks of block_size tokens, laid out inside a block as the backend's
// kv_layout() says (kernels/kv_layout.h).
// A sequence owns a block table (block ids in position order): its token at position p lives
// in slot table[p / block_size] * block_size + p % block_size. Block ids come from the serving
// engine's BlockPool, or are 0, 1, 2, ... for a single sequence (Generator, perf).
// The storage lives in a backend's memory (host by default, device memory for a GPU backend);
// the backend's ops write and read it through layer().
#pragma once

#include <cstdint>
#include <vector>

#include "backend/backend.h"
#include "tensor/dtype.h"
#include "util/status.h"

namespace tenbin {

struct KvCacheOptions {
  int64_t n_layer = 0;
  int64_t kv_dim = 0;       // n_head_kv * head_dim
  int64_t n_blocks = 0;     // blocks of the pool
  int64_t block_size = 16;  // tokens (slots) per block
  DType type = DType::kF16;
  int64_t head_dim = 0;  // elements per kv head (0: kv_dim, one head)
};

class KvCache {
 public:
  // In host memory, or in `backend`'s memory when one is given (it must outlive the cache).
  static Expected<KvCache> create(const KvCacheOptions& options,
                                  backend::Backend* backend = nullptr);
  // As create, with n_blocks = the most blocks whose K/V fit in `budget_bytes` (options.n_blocks
  // is ignored). Fails with a clear message when the budget holds less than one block.
  static Expected<KvCache> create_for_bytes(KvCacheOptions options, double budget_bytes,
                                            backend::Backend* backend = nullptr);
  // Bytes one block takes over all layers, K and V.
  static int64_t block_bytes(const KvCacheOptions& options);
  // Blocks needed to hold `n_tokens` positions: ceil(n_tokens / block_size).
  static int64_t blocks_for(int64_t n_tokens, int64_t block_size = 16) {
    return (n_tokens + block_size - 1) / block_size;
  }

  const KvCacheOptions& options() const { return opt_; }
  DType type() const { return opt_.type; }
  int64_t n_blocks() const { return opt_.n_blocks; }
  int64_t block_size() const { return opt_.block_size; }
  int64_t n_slots() const { return opt_.n_blocks * opt_.block_size; }  // capacity in tokens
  int64_t row_stride() const { return opt_.kv_dim; }  // elements between consecutive slots

  bool host_memory() const { return host_; }

  // `layer` as the backend ops read and write it (Backend::store_kv, Backend::attention).
  backend::KvLayer layer(int64_t layer) const;

  size_t bytes() const { return data_.bytes(); }

 private:
  uint8_t* base() const { return data_.as<uint8_t>(); }
  int64_t offset(int64_t layer, int which) const;  // bytes to K (0) or V (1) of `layer`

  KvCacheOptions opt_;
  bool host_ = true;
  backend::Buffer data_;
};

// The table of a single sequence that owns blocks 0, 1, ..., blocks_for(n_tokens) - 1.
std::vector<int32_t> contiguous_block_table(int64_t n_tokens, int64_t block_size = 16);

}  // namespace tenbin
