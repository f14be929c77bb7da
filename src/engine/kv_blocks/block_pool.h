// The paged KV cache's block manager: a pool of fixed-size blocks (ids only; the K/V tensors
// live in the backend, indexed by block id), per-sequence block tables, and the prefix cache.
// A full, computed block is registered under hash(parent hash, its tokens); later sequences
// with the same prefix share it (ref-counted). Blocks whose refcount drops to 0 stay cached in an
// LRU list and are evicted, oldest first, only when no never-cached free block is left.
// Thread-safety: none. The engine thread owns the pool (through the scheduler).
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "util/status.h"

namespace tenbin {

struct BlockPoolOptions {
  int32_t n_blocks = 0;
  int32_t block_size = 16;  // tokens per block
  bool enable_prefix_cache = true;

  Status validate() const;
};

// The blocks one sequence holds. Owned by the sequence's state, mutated only by the pool.
struct SeqBlocks {
  std::vector<int32_t> table;  // block ids in position order: token i is in table[i / block_size]
  int32_t num_hashed = 0;      // leading full blocks whose chain hash is known (cached or hit)
  uint64_t last_hash = 0;      // chain hash of block num_hashed - 1
};

// Counters for metrics. Prefix queries are counted when a sequence takes its first blocks.
struct BlockPoolStats {
  int32_t n_blocks = 0;
  int32_t n_used = 0;         // refcount > 0
  int32_t n_cached_free = 0;  // refcount 0, kept for prefix hits (evictable)
  int32_t n_free = 0;         // refcount 0, no content
  int64_t prefix_query_tokens = 0;
  int64_t prefix_hit_tokens = 0;
  int64_t prefix_query_blocks = 0;  // full blocks looked up
  int64_t prefix_hit_blocks = 0;
  int64_t evictions = 0;

  double usage() const { return n_blocks ? static_cast<double>(n_used) / n_blocks : 0.0; }
};

class BlockPool {
 public:
  explicit BlockPool(const BlockPoolOptions& options);
  BlockPool(int32_t n_blocks, int32_t block_size)
      : BlockPool(BlockPoolOptions{.n_blocks = n_blocks, .block_size = block_size}) {}

  int32_t block_size() const { return opt_.block_size; }
  int32_t n_blocks() const { return opt_.n_blocks; }
  // Blocks an allocation may take: never-used free blocks plus evictable cached ones.
  int32_t num_free_blocks() const { return static_cast<int32_t>(free_.size()) + lru_size_; }
  bool can_allocate(int32_t n_new_blocks) const { return n_new_blocks <= num_free_blocks(); }
  int32_t blocks_for_tokens(int64_t n_tokens) const {
    return static_cast<int32_t>((n_tokens + opt_.block_size - 1) / opt_.block_size);
  }

  // Longest cached prefix of `tokens` in whole blocks, leaving at least one token uncomputed so
  // the model still produces logits. Writes the hit block ids to `blocks` and returns the number
  // of cached tokens. The ids stay valid until the next call that allocates or frees.
  int64_t match_prefix(std::span<const int32_t> tokens, std::vector<int32_t>* blocks) const;

  // Grows `seq` to hold KV slots for `num_tokens` tokens. A sequence without blocks may first
  // adopt `prefix_hits` (from match_prefix; `num_query_tokens` is its prompt length, for the
  // counters). Returns false, changing nothing, when the pool cannot supply the blocks.
  bool allocate_slots(SeqBlocks& seq, int64_t num_tokens, std::span<const int32_t> prefix_hits = {},
                      int64_t num_query_tokens = 0);

  // Registers `seq`'s full blocks among its first `num_computed` tokens (whose K/V the model has
  // written) in the prefix cache. `tokens` are the sequence's tokens (prompt then generated).
  void cache_computed_blocks(SeqBlocks& seq, std::span<const int32_t> tokens, int64_t num_computed);

  // Drops `seq`'s references (finish, cancel, preemption) and clears it. Cached blocks that
  // reach refcount 0 join the LRU list, the sequence's last block first (evicted before its
  // parents, which more sequences can share).
  void free_sequence(SeqBlocks& seq);

  BlockPoolStats stats() const;
  int32_t ref_count(int32_t block) const { return blocks_[block].ref; }
  bool is_cached(int32_t block) const { return blocks_[block].cached; }
  // Checks the pool's internal consistency (tests call it after every operation).
  Status check_invariants() const;

 private:
  struct Block {
    int32_t ref = 0;
    bool cached = false;  // registered in hash_to_block_
    bool in_lru = false;
    uint64_t hash = 0;
    uint64_t parent_hash = 0;
    std::vector<int32_t> tokens;  // contents of a cached block, to reject hash collisions
    int32_t prev = -1;            // LRU links
    int32_t next = -1;
  };

  int32_t lookup(uint64_t parent_hash, std::span<const int32_t> tokens) const;
  int32_t take_free_block();
  void evict(int32_t block);
  void lru_push_back(int32_t block);
  void lru_remove(int32_t block);

  BlockPoolOptions opt_;
  std::vector<Block> blocks_;
  std::vector<int32_t> free_;  // never-cached free blocks (a stack)
  int32_t lru_head_ = -1;      // oldest evictable cached block
  int32_t lru_tail_ = -1;
  int32_t lru_size_ = 0;
  std::unordered_map<uint64_t, int32_t> hash_to_block_;
  BlockPoolStats counters_;
};

}  // namespace tenbin
