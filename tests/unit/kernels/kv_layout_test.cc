// kernels/kv_layout.h: both layouts place every (slot, kv head, element) of a cache at its own
// index inside the cache's whole blocks, and kHeadBlocks puts a block's keys of one head and
// element side by side (what the attention kernel loads as one vector) and a value row in one
// run. The op tests read caches through these indices; this checks the indices themselves.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/kv_layout.h"

namespace tenbin::kernels {
namespace {

struct Shape {
  int block_size, n_kv, head_dim, pad;  // pad: spare elements per slot (row_stride > kv_dim)
};

class KvLayoutTest : public ::testing::TestWithParam<Shape> {};

// Over three blocks of shape s, in both layouts and both arrays: the index `index` gives each
// (slot, kv head, element) lies inside the cache and inside its slot's own block, and no two
// share one. `index` has kv_element_index's signature.
template <class Index>
void expect_own_index_inside_blocks(const Shape& s, Index index) {
  const int64_t row_stride = int64_t{s.n_kv} * s.head_dim + s.pad;
  const int64_t n_blocks = 3, n_slots = n_blocks * s.block_size;
  for (KvLayout layout : {KvLayout::kRows, KvLayout::kHeadBlocks}) {
    for (bool is_key : {true, false}) {
      std::vector<int> hits(static_cast<size_t>(n_slots * row_stride), 0);
      for (int64_t slot = 0; slot < n_slots; ++slot) {
        for (int g = 0; g < s.n_kv; ++g) {
          for (int d = 0; d < s.head_dim; ++d) {
            const int64_t i =
                index(layout, is_key, slot, s.block_size, row_stride, s.head_dim, g, d);
            ASSERT_GE(i, 0);
            ASSERT_LT(i, n_slots * row_stride);
            // A slot's elements stay inside its own block.
            const int64_t block = slot / s.block_size;
            EXPECT_GE(i, block * s.block_size * row_stride);
            EXPECT_LT(i, (block + 1) * s.block_size * row_stride);
            ++hits[static_cast<size_t>(i)];
          }
        }
      }
      for (size_t i = 0; i < hits.size(); ++i) ASSERT_LE(hits[i], 1) << "index " << i;
    }
  }
}

TEST_P(KvLayoutTest, EveryElementHasItsOwnIndexInsideTheBlocks) {
  expect_own_index_inside_blocks(GetParam(), kv_element_index);
}

TEST_P(KvLayoutTest, HeadBlocksKeepKeysByElementAndValuesByRow) {
  const Shape s = GetParam();
  const int64_t row_stride = int64_t{s.n_kv} * s.head_dim + s.pad;
  const int bs = s.block_size;
  auto at = [&](bool is_key, int64_t slot, int g, int d) {
    return kv_element_index(KvLayout::kHeadBlocks, is_key, slot, bs, row_stride, s.head_dim, g, d);
  };
  for (int64_t block = 0; block < 2; ++block) {
    for (int g = 0; g < s.n_kv; ++g) {
      const int64_t tile = at(true, block * bs, g, 0);
      // The head's tile starts where a view of that head alone starts.
      EXPECT_EQ(tile - at(true, block * bs, 0, 0),
                kv_head_offset(KvLayout::kHeadBlocks, bs, s.head_dim, g));
      for (int j = 0; j < bs; ++j) {
        for (int d = 0; d < s.head_dim; ++d) {
          EXPECT_EQ(at(true, block * bs + j, g, d), tile + int64_t{d} * bs + j);
          EXPECT_EQ(at(false, block * bs + j, g, d), tile + int64_t{j} * s.head_dim + d);
        }
      }
    }
  }
  // Rows: a slot is one row, heads side by side.
  EXPECT_EQ(kv_element_index(KvLayout::kRows, true, 5, bs, row_stride, s.head_dim, 1, 2),
            5 * row_stride + s.head_dim + 2);
  EXPECT_EQ(kv_head_offset(KvLayout::kRows, bs, s.head_dim, 1), s.head_dim);
}

// BF16 (even block and head sizes): every element at its own index inside its block, the
// tiles where F16's start, and each pair a pair-product lane multiplies side by side: elements
// 2m, 2m + 1 of a position's key, element d of positions 2r, 2r + 1 of the values.
TEST_P(KvLayoutTest, Bf16TilesKeepPairsSideBySide) {
  const Shape s = GetParam();
  if (s.block_size % 2 != 0 || s.head_dim % 2 != 0) GTEST_SKIP() << "a bf16 cache needs even sizes";
  expect_own_index_inside_blocks(s, kv_bf16_index);
  const int64_t row_stride = int64_t{s.n_kv} * s.head_dim + s.pad;
  const int bs = s.block_size;
  for (int64_t slot = 0; slot < 3 * int64_t{bs}; ++slot) {
    const int64_t block = slot / bs, j = slot % bs;
    for (int g = 0; g < s.n_kv; ++g) {
      for (int d = 0; d < s.head_dim; ++d) {
        for (bool is_key : {true, false}) {
          EXPECT_EQ(
              kv_bf16_index(KvLayout::kRows, is_key, slot, bs, row_stride, s.head_dim, g, d),
              kv_element_index(KvLayout::kRows, is_key, slot, bs, row_stride, s.head_dim, g, d));
          const int64_t i =
              kv_bf16_index(KvLayout::kHeadBlocks, is_key, slot, bs, row_stride, s.head_dim, g, d);
          const int64_t tile = kv_element_index(KvLayout::kHeadBlocks, is_key, block * bs, bs,
                                                row_stride, s.head_dim, g, 0);
          if (is_key) {
            EXPECT_EQ(i, tile + (d / 2 * bs + j) * 2 + d % 2);
          } else {
            EXPECT_EQ(i, tile + (j / 2 * s.head_dim + d) * 2 + j % 2);
          }
        }
      }
    }
  }
  EXPECT_EQ(kv_bytes(DType::kBF16, 10), 20);
}

INSTANTIATE_TEST_SUITE_P(Shapes, KvLayoutTest,
                         ::testing::Values(Shape{16, 4, 64, 0}, Shape{16, 2, 128, 8},
                                           Shape{3, 2, 48, 4}, Shape{1, 3, 16, 0},
                                           Shape{32, 8, 64, 0}));

}  // namespace
}  // namespace tenbin::kernels
