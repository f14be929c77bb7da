// Block pool and prefix cache: allocation, sharing, LRU eviction and hashing. Every test ends
// by checking that no block leaked (all free or cached) and that the pool is consistent.
#include "engine/kv_blocks/block_pool.h"

#include <cstring>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#include "engine/kv_blocks/block_hash.h"

namespace tenbin {
namespace {

std::vector<int32_t> iota_tokens(int n, int32_t first) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  std::iota(t.begin(), t.end(), first);
  return t;
}

std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

void expect_no_leak(const BlockPool& pool) {
  EXPECT_TRUE(pool.check_invariants().ok()) << pool.check_invariants().message();
  EXPECT_EQ(pool.stats().n_used, 0);
  EXPECT_EQ(pool.num_free_blocks(), pool.n_blocks());
}

// Runs a sequence's whole life: take prefix hits, grow to all tokens, "compute" them, finish.
std::vector<int32_t> run_to_completion(BlockPool& pool, const std::vector<int32_t>& tokens) {
  SeqBlocks seq;
  std::vector<int32_t> hits;
  pool.match_prefix(tokens, &hits);
  EXPECT_TRUE(pool.allocate_slots(seq, static_cast<int64_t>(tokens.size()), hits,
                                  static_cast<int64_t>(tokens.size())));
  pool.cache_computed_blocks(seq, tokens, static_cast<int64_t>(tokens.size()));
  std::vector<int32_t> table = seq.table;
  pool.free_sequence(seq);
  return table;
}

TEST(KvBlocksHash, Xxhash64KnownVectors) {
  EXPECT_EQ(xxhash64("", 0, 0), 0xEF46DB3751D8E999ULL);
  EXPECT_EQ(xxhash64("abc", 3, 0), 0x44BC2CF5AD770999ULL);
  const char* text = "Nobody inspects the spammish repetition";  // 39 bytes: stripes and tails
  EXPECT_EQ(xxhash64(text, std::strlen(text), 0), 0xFBCEA83C8A378BF1ULL);
}

TEST(KvBlocksHash, ChainDependsOnParentAndEveryToken) {
  const std::vector<int32_t> block = iota_tokens(16, 100);
  const uint64_t h = hash_block_tokens(kRootBlockHash, block);
  EXPECT_NE(h, hash_block_tokens(h, block));
  std::vector<int32_t> other = block;
  other[15] = 1 << 24;  // differs only in a high byte
  EXPECT_NE(h, hash_block_tokens(kRootBlockHash, other));
  EXPECT_EQ(h, hash_block_tokens(kRootBlockHash, block));
}

TEST(KvBlocks, AllocatesWholeBlocksAsASequenceGrows) {
  BlockPool pool(8, 16);
  SeqBlocks seq;
  ASSERT_TRUE(pool.allocate_slots(seq, 1));
  EXPECT_EQ(seq.table.size(), 1u);
  ASSERT_TRUE(pool.allocate_slots(seq, 16));
  EXPECT_EQ(seq.table.size(), 1u);
  ASSERT_TRUE(pool.allocate_slots(seq, 17));
  EXPECT_EQ(seq.table.size(), 2u);
  EXPECT_EQ(pool.stats().n_used, 2);
  EXPECT_DOUBLE_EQ(pool.stats().usage(), 0.25);
  pool.free_sequence(seq);
  EXPECT_TRUE(seq.table.empty());
  expect_no_leak(pool);
}

TEST(KvBlocks, FailedAllocationChangesNothing) {
  BlockPool pool(4, 16);
  SeqBlocks a, b;
  ASSERT_TRUE(pool.allocate_slots(a, 48));
  EXPECT_TRUE(pool.can_allocate(1));
  EXPECT_FALSE(pool.can_allocate(2));
  EXPECT_FALSE(pool.allocate_slots(b, 17));
  EXPECT_TRUE(b.table.empty());
  EXPECT_EQ(pool.num_free_blocks(), 1);
  pool.free_sequence(a);
  expect_no_leak(pool);
}

TEST(KvBlocks, SharedSystemPromptHitsAfterFirstRequestFinishes) {
  BlockPool pool(16, 16);
  const std::vector<int32_t> system = iota_tokens(40, 1000);  // 2 full blocks + 8 tokens
  const std::vector<int32_t> first = concat(system, iota_tokens(10, 1));
  const std::vector<int32_t> table1 = run_to_completion(pool, first);
  EXPECT_EQ(pool.stats().prefix_hit_tokens, 0);

  const std::vector<int32_t> second = concat(system, iota_tokens(10, 500));
  std::vector<int32_t> hits;
  // Blocks 0 and 1 are pure system prompt; block 2 mixes in the first user's tokens.
  EXPECT_EQ(pool.match_prefix(second, &hits), 32);
  EXPECT_EQ(hits, std::vector<int32_t>(table1.begin(), table1.begin() + 2));
  SeqBlocks seq;
  ASSERT_TRUE(pool.allocate_slots(seq, 50, hits, 50));
  EXPECT_EQ(pool.ref_count(hits[0]), 1);
  const BlockPoolStats s = pool.stats();
  EXPECT_EQ(s.prefix_query_tokens, 100);
  EXPECT_EQ(s.prefix_hit_tokens, 32);
  EXPECT_EQ(s.prefix_query_blocks, 6);  // 3 full blocks per 50-token prompt
  EXPECT_EQ(s.prefix_hit_blocks, 2);
  pool.free_sequence(seq);
  expect_no_leak(pool);
}

TEST(KvBlocks, PartialBlockIsNotCached) {
  BlockPool pool(8, 16);
  const std::vector<int32_t> tokens = iota_tokens(20, 7);
  run_to_completion(pool, tokens);
  EXPECT_EQ(pool.stats().n_cached_free, 1);  // the 4-token tail block went back uncached
  std::vector<int32_t> hits;
  EXPECT_EQ(pool.match_prefix(concat(tokens, {1, 2, 3}), &hits), 16);
  expect_no_leak(pool);
}

TEST(KvBlocks, NeverMatchesTheWholePrompt) {
  BlockPool pool(8, 16);
  const std::vector<int32_t> tokens = iota_tokens(32, 7);
  run_to_completion(pool, tokens);
  EXPECT_EQ(pool.stats().n_cached_free, 2);
  std::vector<int32_t> hits;
  EXPECT_EQ(pool.match_prefix(tokens, &hits), 16);  // one token must remain to get logits
  EXPECT_EQ(pool.match_prefix(concat(tokens, {5}), &hits), 32);
  expect_no_leak(pool);
}

TEST(KvBlocks, SameBlockTokensAfterDifferentPrefixesAreDifferentBlocks) {
  BlockPool pool(8, 16);
  const std::vector<int32_t> shared = iota_tokens(16, 300);
  const std::vector<int32_t> a = concat(concat(iota_tokens(16, 1), shared), {9});
  const std::vector<int32_t> b = concat(concat(iota_tokens(16, 100), shared), {9});
  run_to_completion(pool, a);
  std::vector<int32_t> hits;
  EXPECT_EQ(pool.match_prefix(b, &hits), 0);
  run_to_completion(pool, b);
  EXPECT_EQ(pool.stats().n_cached_free, 4);
  EXPECT_EQ(pool.match_prefix(b, &hits), 32);
  expect_no_leak(pool);
}

// Timeline (block size 4, pool of 4):
//   A computes 8 tokens, finishes  -> LRU: A1 A0        (a sequence's tail goes first)
//   B computes 8 tokens, finishes  -> LRU: A1 A0 B1 B0
//   C needs 1 block                -> evicts A1; D needs 1 more -> evicts A0; B stays cached.
TEST(KvBlocks, EvictsLeastRecentlyFreedFirst) {
  BlockPool pool(4, 4);
  const std::vector<int32_t> a = iota_tokens(8, 10);
  const std::vector<int32_t> b = iota_tokens(8, 50);
  const std::vector<int32_t> table_a = run_to_completion(pool, a);
  run_to_completion(pool, b);
  EXPECT_EQ(pool.stats().n_cached_free, 4);
  EXPECT_EQ(pool.stats().n_free, 0);

  SeqBlocks c, d;
  ASSERT_TRUE(pool.allocate_slots(c, 4));
  EXPECT_EQ(c.table[0], table_a[1]);
  std::vector<int32_t> hits;
  EXPECT_EQ(pool.match_prefix(concat(a, {1}), &hits), 4);  // A0 still cached
  ASSERT_TRUE(pool.allocate_slots(d, 4));
  EXPECT_EQ(d.table[0], table_a[0]);
  EXPECT_EQ(pool.match_prefix(concat(a, {1}), &hits), 0);
  EXPECT_EQ(pool.match_prefix(concat(b, {1}), &hits), 8);
  EXPECT_EQ(pool.stats().evictions, 2);
  pool.free_sequence(c);
  pool.free_sequence(d);
  expect_no_leak(pool);
}

TEST(KvBlocks, HitMovesABlockToTheBackOfTheLru) {
  BlockPool pool(4, 4);
  const std::vector<int32_t> a = iota_tokens(4, 10);
  const std::vector<int32_t> b = iota_tokens(4, 50);
  const int32_t a0 = run_to_completion(pool, concat(a, {1}))[0];  // LRU: A0 (tail went free)
  run_to_completion(pool, concat(b, {1}));                        // LRU: A0 B0
  run_to_completion(pool, concat(a, {2}));                        // hit on A0: LRU: B0 A0
  SeqBlocks c;
  ASSERT_TRUE(pool.allocate_slots(c, 12));  // 2 free blocks, then evicts B0
  EXPECT_TRUE(pool.is_cached(a0));
  std::vector<int32_t> hits;
  EXPECT_EQ(pool.match_prefix(concat(b, {1}), &hits), 0);
  pool.free_sequence(c);
  expect_no_leak(pool);
}

TEST(KvBlocks, TwoConcurrentSharersHoldRefcounts) {
  BlockPool pool(8, 16);
  const std::vector<int32_t> prompt = iota_tokens(40, 1);
  SeqBlocks a, b;
  ASSERT_TRUE(pool.allocate_slots(a, 40));
  pool.cache_computed_blocks(a, prompt, 40);
  std::vector<int32_t> hits;
  ASSERT_EQ(pool.match_prefix(prompt, &hits), 32);
  ASSERT_TRUE(pool.allocate_slots(b, 40, hits, 40));
  EXPECT_EQ(pool.ref_count(a.table[0]), 2);
  EXPECT_EQ(pool.ref_count(a.table[1]), 2);
  EXPECT_NE(a.table[2], b.table[2]);  // the partial tail block is private
  EXPECT_EQ(pool.stats().n_used, 4);
  pool.free_sequence(a);
  EXPECT_EQ(pool.ref_count(b.table[0]), 1);
  EXPECT_EQ(pool.stats().n_cached_free, 0);  // still in use by b: not evictable
  EXPECT_TRUE(pool.check_invariants().ok());
  pool.free_sequence(b);
  EXPECT_EQ(pool.stats().n_cached_free, 2);
  expect_no_leak(pool);
}

TEST(KvBlocks, ReviveOfAnEvictableHitCostsAFreeBlock) {
  BlockPool pool(3, 4);
  const std::vector<int32_t> prompt = iota_tokens(9, 1);
  run_to_completion(pool, prompt);  // 2 cached (evictable) + 1 free
  std::vector<int32_t> hits;
  ASSERT_EQ(pool.match_prefix(prompt, &hits), 8);
  SeqBlocks seq;
  EXPECT_FALSE(pool.allocate_slots(seq, 16, hits, 9));  // 2 revived + 2 new > 3
  EXPECT_TRUE(seq.table.empty());
  EXPECT_EQ(pool.stats().prefix_query_tokens, 9);  // failed attempts are not counted
  ASSERT_TRUE(pool.allocate_slots(seq, 12, hits, 9));
  EXPECT_EQ(pool.num_free_blocks(), 0);
  pool.free_sequence(seq);
  expect_no_leak(pool);
}

TEST(KvBlocks, DuplicateComputationKeepsOneCachedCopy) {
  BlockPool pool(8, 4);
  const std::vector<int32_t> prompt = iota_tokens(9, 1);
  SeqBlocks a, b;
  ASSERT_TRUE(pool.allocate_slots(a, 9));
  ASSERT_TRUE(pool.allocate_slots(b, 9));
  pool.cache_computed_blocks(a, prompt, 9);
  pool.cache_computed_blocks(b, prompt, 9);
  EXPECT_TRUE(pool.is_cached(a.table[0]));
  EXPECT_FALSE(pool.is_cached(b.table[0]));
  EXPECT_EQ(b.num_hashed, 2);  // b's chain continues even though its copy is private
  pool.free_sequence(a);
  pool.free_sequence(b);
  EXPECT_EQ(pool.stats().n_cached_free, 2);
  expect_no_leak(pool);
}

TEST(KvBlocks, IncrementalCachingFollowsComputedTokens) {
  BlockPool pool(8, 4);
  const std::vector<int32_t> prompt = iota_tokens(11, 1);
  SeqBlocks seq;
  ASSERT_TRUE(pool.allocate_slots(seq, 6));
  pool.cache_computed_blocks(seq, prompt, 6);  // chunk 1: one full block
  EXPECT_EQ(seq.num_hashed, 1);
  ASSERT_TRUE(pool.allocate_slots(seq, 11));
  pool.cache_computed_blocks(seq, prompt, 11);  // chunk 2: the second block fills
  EXPECT_EQ(seq.num_hashed, 2);
  std::vector<int32_t> hits;
  EXPECT_EQ(pool.match_prefix(prompt, &hits), 8);
  EXPECT_EQ(hits, std::vector<int32_t>(seq.table.begin(), seq.table.begin() + 2));
  pool.free_sequence(seq);
  expect_no_leak(pool);
}

TEST(KvBlocks, DisabledPrefixCacheNeverHits) {
  BlockPool pool(BlockPoolOptions{.n_blocks = 4, .block_size = 4, .enable_prefix_cache = false});
  const std::vector<int32_t> prompt = iota_tokens(9, 1);
  run_to_completion(pool, prompt);
  std::vector<int32_t> hits;
  EXPECT_EQ(pool.match_prefix(prompt, &hits), 0);
  EXPECT_EQ(pool.stats().n_cached_free, 0);
  expect_no_leak(pool);
}

TEST(KvBlocks, OptionsValidate) {
  BlockPoolOptions options;
  EXPECT_FALSE(options.validate().ok());  // n_blocks unset
  options.n_blocks = 4;
  EXPECT_TRUE(options.validate().ok());
  options.block_size = 0;
  EXPECT_FALSE(options.validate().ok());
}

}  // namespace
}  // namespace tenbin
