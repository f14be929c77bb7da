// Software prefetch of a paged KV cache for the attention kernels (attention_kernels.h,
// attention_q8_kernels.h), and how far ahead they ask. Included only by the per-ISA files,
// inside an anonymous namespace, so each ISA gets its own copy.
#pragma once

#include <cstdint>

namespace tenbin::kernels::cpu {
namespace {

// Asks for `bytes` from p into the caches, a line at a time. The keys and values of one kv
// head are one run per block, but blocks lie anywhere in the pool (and a layer's blocks of 32 kv
// heads of 128 are 128 KiB apart), where the hardware prefetcher, which stays within a page,
// does not follow. With AVX-512 into L2 only: the requests then do not hold the few L1 miss
// buffers the loads need, and a context read from memory goes ~25% faster on one core than
// with prefetches into L1. The AVX2 kernels, half as wide, were slower that way here, and keep
// prefetching into L1.
template <class S>
void prefetch_bytes(const uint8_t* p, int64_t bytes) {
  for (int64_t i = 0; i < bytes; i += 64) {
    if constexpr (S::kW == 16) {
      __builtin_prefetch(p + i, 0, 2);
    } else {
      __builtin_prefetch(p + i, 0, 3);
    }
  }
}

// Positions ahead whose values are asked for while the weighted sum runs, and blocks ahead
// whose keys are asked for while the scores run (4 KiB or so either way: farther is no faster).
constexpr int64_t kValuesAhead = 32;
constexpr int64_t kKeyBlocksAhead = 2;

}  // namespace
}  // namespace tenbin::kernels::cpu
