#include "engine/kv_blocks/block_pool.h"

#include <algorithm>
#include <cassert>

#include "engine/kv_blocks/block_hash.h"

namespace tenbin {

Status BlockPoolOptions::validate() const {
  if (n_blocks <= 0)
    return Status::Errorf("KV block pool: n_blocks must be > 0 (got {})", n_blocks);
  if (block_size <= 0 || block_size > 4096) {
    return Status::Errorf("KV block pool: block_size must be in [1, 4096] (got {})", block_size);
  }
  return Status::Ok();
}

BlockPool::BlockPool(const BlockPoolOptions& options) : opt_(options) {
  assert(opt_.validate().ok());
  blocks_.resize(static_cast<size_t>(opt_.n_blocks));
  free_.reserve(blocks_.size());
  // Stack order: block 0 is handed out first.
  for (int32_t b = opt_.n_blocks - 1; b >= 0; --b) free_.push_back(b);
  counters_.n_blocks = opt_.n_blocks;
}

int32_t BlockPool::lookup(uint64_t parent_hash, std::span<const int32_t> tokens) const {
  const uint64_t hash = hash_block_tokens(parent_hash, tokens);
  const auto it = hash_to_block_.find(hash);
  if (it == hash_to_block_.end()) return -1;
  const Block& b = blocks_[it->second];
  // A 64-bit collision must not hand out another prefix's K/V: compare what the hash covers.
  if (b.parent_hash != parent_hash || !std::ranges::equal(b.tokens, tokens)) return -1;
  return it->second;
}

int64_t BlockPool::match_prefix(std::span<const int32_t> tokens,
                                std::vector<int32_t>* blocks) const {
  blocks->clear();
  if (!opt_.enable_prefix_cache || tokens.empty()) return 0;
  const size_t bs = static_cast<size_t>(opt_.block_size);
  const size_t max_blocks = (tokens.size() - 1) / bs;  // keep >= 1 token to compute
  uint64_t parent = kRootBlockHash;
  for (size_t i = 0; i < max_blocks; ++i) {
    const int32_t id = lookup(parent, tokens.subspan(i * bs, bs));
    if (id < 0) break;
    blocks->push_back(id);
    parent = blocks_[id].hash;
  }
  return static_cast<int64_t>(blocks->size()) * opt_.block_size;
}

bool BlockPool::allocate_slots(SeqBlocks& seq, int64_t num_tokens,
                               std::span<const int32_t> prefix_hits, int64_t num_query_tokens) {
  assert(prefix_hits.empty() || seq.table.empty());
  const int32_t have = static_cast<int32_t>(seq.table.size() + prefix_hits.size());
  const int32_t n_new = std::max(0, blocks_for_tokens(num_tokens) - have);
  // A hit on an evictable block takes it off the LRU list, so it costs a free block too.
  int32_t n_revived = 0;
  for (int32_t b : prefix_hits) n_revived += blocks_[b].ref == 0 ? 1 : 0;
  if (!can_allocate(n_new + n_revived)) return false;

  if (seq.table.empty() && num_query_tokens > 0) {
    const int64_t hit_blocks = static_cast<int64_t>(prefix_hits.size());
    counters_.prefix_query_tokens += num_query_tokens;
    counters_.prefix_hit_tokens += hit_blocks * opt_.block_size;
    counters_.prefix_query_blocks += (num_query_tokens - 1) / opt_.block_size;
    counters_.prefix_hit_blocks += hit_blocks;
  }
  for (int32_t b : prefix_hits) {
    if (blocks_[b].ref == 0) lru_remove(b);
    ++blocks_[b].ref;
    seq.table.push_back(b);
  }
  if (!prefix_hits.empty()) {
    seq.num_hashed = static_cast<int32_t>(prefix_hits.size());
    seq.last_hash = blocks_[prefix_hits.back()].hash;
  }
  for (int32_t i = 0; i < n_new; ++i) {
    const int32_t b = take_free_block();
    blocks_[b].ref = 1;
    seq.table.push_back(b);
  }
  return true;
}

void BlockPool::cache_computed_blocks(SeqBlocks& seq, std::span<const int32_t> tokens,
                                      int64_t num_computed) {
  if (!opt_.enable_prefix_cache) return;
  const int64_t bs = opt_.block_size;
  const int64_t n_full =
      std::min<int64_t>(num_computed / bs, static_cast<int64_t>(seq.table.size()));
  assert(n_full * bs <= static_cast<int64_t>(tokens.size()));
  for (int64_t i = seq.num_hashed; i < n_full; ++i) {
    const uint64_t parent = i == 0 ? kRootBlockHash : seq.last_hash;
    const auto block_tokens = tokens.subspan(static_cast<size_t>(i * bs), static_cast<size_t>(bs));
    const uint64_t hash = hash_block_tokens(parent, block_tokens);
    Block& b = blocks_[seq.table[i]];
    // A block computed twice (two sequences prefilled the same prefix in the same step) stays
    // private in its second copy: the hash keeps pointing at the first.
    if (!b.cached && !hash_to_block_.contains(hash)) {
      hash_to_block_.emplace(hash, seq.table[i]);
      b.cached = true;
      b.hash = hash;
      b.parent_hash = parent;
      b.tokens.assign(block_tokens.begin(), block_tokens.end());
    }
    seq.last_hash = hash;
    seq.num_hashed = static_cast<int32_t>(i + 1);
  }
}

void BlockPool::free_sequence(SeqBlocks& seq) {
  for (auto it = seq.table.rbegin(); it != seq.table.rend(); ++it) {
    Block& b = blocks_[*it];
    assert(b.ref > 0);
    if (--b.ref > 0) continue;
    if (b.cached) {
      lru_push_back(*it);
    } else {
      free_.push_back(*it);
    }
  }
  seq = SeqBlocks{};
}

int32_t BlockPool::take_free_block() {
  if (!free_.empty()) {
    const int32_t b = free_.back();
    free_.pop_back();
    return b;
  }
  assert(lru_head_ >= 0);
  const int32_t b = lru_head_;
  lru_remove(b);
  evict(b);
  return b;
}

void BlockPool::evict(int32_t block) {
  Block& b = blocks_[block];
  const auto it = hash_to_block_.find(b.hash);
  if (it != hash_to_block_.end() && it->second == block) hash_to_block_.erase(it);
  b.cached = false;
  b.hash = 0;
  b.parent_hash = 0;
  b.tokens.clear();
  ++counters_.evictions;
}

void BlockPool::lru_push_back(int32_t block) {
  Block& b = blocks_[block];
  assert(!b.in_lru);
  b.in_lru = true;
  b.prev = lru_tail_;
  b.next = -1;
  if (lru_tail_ >= 0) {
    blocks_[lru_tail_].next = block;
  } else {
    lru_head_ = block;
  }
  lru_tail_ = block;
  ++lru_size_;
}

void BlockPool::lru_remove(int32_t block) {
  Block& b = blocks_[block];
  assert(b.in_lru);
  if (b.prev >= 0) {
    blocks_[b.prev].next = b.next;
  } else {
    lru_head_ = b.next;
  }
  if (b.next >= 0) {
    blocks_[b.next].prev = b.prev;
  } else {
    lru_tail_ = b.prev;
  }
  b.prev = b.next = -1;
  b.in_lru = false;
  --lru_size_;
}

BlockPoolStats BlockPool::stats() const {
  BlockPoolStats s = counters_;
  s.n_free = static_cast<int32_t>(free_.size());
  s.n_cached_free = lru_size_;
  s.n_used = opt_.n_blocks - s.n_free - s.n_cached_free;
  return s;
}

Status BlockPool::check_invariants() const {
  std::vector<uint8_t> on_free(blocks_.size(), 0);
  for (int32_t b : free_) {
    if (on_free[b]++) return Status::Errorf("block {} is twice on the free list", b);
    const Block& blk = blocks_[b];
    if (blk.ref != 0 || blk.cached || blk.in_lru) {
      return Status::Errorf("free block {} has ref {} cached {}", b, blk.ref, blk.cached);
    }
  }
  int32_t n_lru = 0;
  for (int32_t b = lru_head_, prev = -1; b >= 0; prev = b, b = blocks_[b].next) {
    const Block& blk = blocks_[b];
    if (++n_lru > opt_.n_blocks) return Status::Error("LRU list has a cycle");
    if (blk.prev != prev || !blk.in_lru || blk.ref != 0 || !blk.cached || on_free[b]) {
      return Status::Errorf("LRU block {} is inconsistent (ref {})", b, blk.ref);
    }
  }
  if (n_lru != lru_size_) return Status::Errorf("LRU size {} != {}", n_lru, lru_size_);
  for (size_t b = 0; b < blocks_.size(); ++b) {
    const Block& blk = blocks_[b];
    if (blk.ref < 0) return Status::Errorf("block {} has negative refcount", b);
    if (blk.ref == 0 && !blk.in_lru && !on_free[b]) return Status::Errorf("block {} leaked", b);
    if (blk.ref > 0 && blk.in_lru) return Status::Errorf("used block {} is on the LRU list", b);
    if (blk.cached) {
      const auto it = hash_to_block_.find(blk.hash);
      if (it == hash_to_block_.end() || it->second != static_cast<int32_t>(b)) {
        return Status::Errorf("cached block {} is not in the hash map", b);
      }
    }
  }
  for (const auto& [hash, b] : hash_to_block_) {
    if (!blocks_[b].cached || blocks_[b].hash != hash) {
      return Status::Errorf("hash map entry points to uncached block {}", b);
    }
  }
  return Status::Ok();
}

}  // namespace tenbin
