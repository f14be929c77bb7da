// Content hashes of KV-cache blocks for prefix caching. A full block's identity is
// hash(parent block's hash, the block's token ids), so equal tokens after different prefixes are
// different blocks. The hash is xxHash64 (our own implementation of the published algorithm).
// Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace tenbin {

// xxHash64 of `size` bytes at `data` with `seed`.
uint64_t xxhash64(const void* data, size_t size, uint64_t seed);

// Parent hash of a sequence's first block.
inline constexpr uint64_t kRootBlockHash = 0;

// Hash of one block's token ids chained onto its parent's hash. Token ids are hashed as
// little-endian 32-bit integers.
uint64_t hash_block_tokens(uint64_t parent_hash, std::span<const int32_t> tokens);

}  // namespace tenbin
