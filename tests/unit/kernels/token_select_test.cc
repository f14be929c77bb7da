// kernels/token_select.h: the order key, the edits and the top-k selection against a plain
// full sort of the row, on rows full of ties, signed zeros, infinities and NaN.
#include "kernels/token_select.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace tenbin::kernels {
namespace {

TEST(TokenSelect, OrderKeyFollowsTheFloatOrder) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> ascending = {-inf,   -3e38f, -1.0f, -1e-40f, 0.0f,
                                        1e-40f, 2.0f,   3e38f, inf};
  for (size_t i = 1; i < ascending.size(); ++i) {
    EXPECT_LT(logit_order_key(ascending[i - 1]), logit_order_key(ascending[i])) << i;
  }
  EXPECT_EQ(logit_order_key(-0.0f), logit_order_key(0.0f));
  EXPECT_EQ(logit_order_key(std::nanf("")), 0u);
  EXPECT_EQ(logit_order_key(-std::nanf("")), 0u);
  EXPECT_LT(logit_order_key(std::nanf("")), logit_order_key(-inf));
}

TEST(TokenSelect, EditsApplyInOrder) {
  std::vector<float> row = {2.0f, -2.0f, 1.0f, 4.0f};
  const std::vector<LogitEdit> edits = {
      {0, 0.0f, 2.0f, 0.5f},                          // 2 / 2 - 0.5
      {1, 0.0f, 2.0f, 0.0f},                          // -2 * 2
      {2, 3.0f, 1.0f, 0.0f},                          // 1 + 3
      {2, -1.0f, 1.0f, 0.0f},                         // then - 1 (a repeated token takes both)
      {9, 5.0f, 1.0f, 0.0f},                          // outside the row: skipped
      {-1, 5.0f, 1.0f, 0.0f}, {3, 1.0f, 2.0f, 1.0f},  // (4 + 1) / 2 - 1
  };
  apply_logit_edits(row.data(), 4, edits.data(), static_cast<int64_t>(edits.size()));
  EXPECT_EQ(row, (std::vector<float>{0.5f, -4.0f, 3.0f, 1.5f}));
}

// The k best by a full sort: logit descending (NaN last), then id ascending.
std::vector<TokenCandidate> by_full_sort(const std::vector<float>& row, int64_t k) {
  std::vector<int32_t> ids(row.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i);
  std::stable_sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) {
    const bool nan_a = std::isnan(row[a]), nan_b = std::isnan(row[b]);
    if (nan_a || nan_b) return !nan_a && nan_b;
    return row[a] > row[b];
  });
  std::vector<TokenCandidate> out;
  for (int64_t i = 0; i < k; ++i) out.push_back({ids[i], row[ids[i]]});
  return out;
}

TEST(TokenSelect, TopKMatchesAFullSort) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  for (int trial = 0; trial < 60; ++trial) {
    const int64_t n = 1 + trial * 37 % 700;
    std::vector<float> row(static_cast<size_t>(n));
    for (float& v : row) v = normal(rng);
    if (trial % 3 == 1) {
      for (float& v : row) v = std::round(v);  // ties everywhere
    }
    if (trial % 3 == 2) {
      row[trial % n] = std::nanf("");
      row[(trial * 7) % n] = -0.0f;
      row[(trial * 13) % n] = 0.0f;
      row[(trial * 5) % n] = -std::numeric_limits<float>::infinity();
    }
    for (int64_t k : {int64_t{1}, std::min<int64_t>(n, 2), std::min<int64_t>(n, 40), n}) {
      std::vector<TokenCandidate> got(static_cast<size_t>(k));
      select_top_k(row.data(), n, k, got.data());
      const auto want = by_full_sort(row, k);
      for (int64_t i = 0; i < k; ++i) {
        ASSERT_EQ(got[i].token, want[i].token) << "n=" << n << " k=" << k << " i=" << i;
        ASSERT_EQ(std::memcmp(&got[i].logit, &want[i].logit, 4), 0);
      }
    }
  }
}

}  // namespace
}  // namespace tenbin::kernels
