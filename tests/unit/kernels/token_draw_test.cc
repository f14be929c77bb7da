// kernels/token_draw.h: draw_from_row against the sorted row's draw (draw_from_best over every
// token) where both cut inside the best tokens, its fallback where a cut does not, and, with
// nothing cut, the share of draws each token gets for evenly spread u.
#include "kernels/token_draw.h"

#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace tenbin::kernels {
namespace {

std::vector<float> normal_row(std::mt19937& rng, int64_t n, float spread) {
  std::normal_distribution<float> normal(0.0f, spread);
  std::vector<float> row(static_cast<size_t>(n));
  for (float& v : row) v = normal(rng);
  return row;
}

std::vector<TokenCandidate> best_of(const std::vector<float>& row, int64_t k) {
  std::vector<TokenCandidate> best(static_cast<size_t>(k));
  select_top_k(row.data(), static_cast<int64_t>(row.size()), k, best.data());
  return best;
}

TEST(TokenDraw, CutsInsideTheBestDrawAsTheSortedRow) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  const int64_t n = 3000;
  int cut_inside = 0, needs_sorted = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const auto row = normal_row(rng, n, trial % 2 == 0 ? 4.0f : 1.0f);
    const auto best = best_of(row, kMaxSelectK);
    const auto all = best_of(row, n);
    DrawParams p;
    p.temperature = trial % 4 < 2 ? 1.0f : 0.6f;
    p.top_p = trial % 3 == 0 ? 1.0f : 0.9f;
    p.min_p = trial % 3 == 0 ? 0.05f : 0.0f;
    p.u = uniform(rng);
    const int32_t got = draw_from_row(row.data(), n, best.data(), kMaxSelectK, p);
    if (got == kDrawNeedsSortedRow) {
      ++needs_sorted;
      continue;
    }
    ++cut_inside;
    EXPECT_EQ(got, draw_from_best(all.data(), n, p)) << "trial " << trial;
  }
  EXPECT_GT(cut_inside, 100);
  EXPECT_GT(needs_sorted, 10);
}

TEST(TokenDraw, NeedsTheSortedRowWhenACutPassesTheBest) {
  const int64_t n = 1000;
  const std::vector<float> flat(static_cast<size_t>(n), 2.0f);
  const auto best = best_of(flat, kMaxSelectK);
  DrawParams p;
  p.top_p = 0.5f;  // a nucleus of 500 tokens
  EXPECT_EQ(draw_from_row(flat.data(), n, best.data(), kMaxSelectK, p), kDrawNeedsSortedRow);
  p.top_p = 0.2f;  // of 200: inside
  EXPECT_NE(draw_from_row(flat.data(), n, best.data(), kMaxSelectK, p), kDrawNeedsSortedRow);
  p.top_p = 1.0f;
  p.min_p = 0.5f;  // every token passes
  EXPECT_EQ(draw_from_row(flat.data(), n, best.data(), kMaxSelectK, p), kDrawNeedsSortedRow);
  // With no token past the best there is nothing to fall back for.
  const std::vector<float> small(100, 2.0f);
  const auto small_best = best_of(small, 100);
  EXPECT_NE(draw_from_row(small.data(), 100, small_best.data(), 100, p), kDrawNeedsSortedRow);
}

// With nothing cut, u walks the best tokens and then the others in id order: evenly spread u
// give every token its softmax share of the draws, to within one draw.
TEST(TokenDraw, EvenlySpreadDrawsFollowTheSoftmax) {
  std::mt19937 rng(8);
  const int64_t n = 900;
  const auto row = normal_row(rng, n, 1.0f);  // flat: most of the mass past the 256 best
  const auto best = best_of(row, kMaxSelectK);
  DrawParams p;
  p.temperature = 1.3f;
  const int draws = 100000;
  std::vector<int> counts(static_cast<size_t>(n), 0);
  for (int i = 0; i < draws; ++i) {
    p.u = (i + 0.5) / draws;
    const int32_t t = draw_from_row(row.data(), n, best.data(), kMaxSelectK, p);
    ASSERT_GE(t, 0);
    ++counts[t];
  }
  double z = 0;
  for (float l : row) z += std::exp((static_cast<double>(l) - best[0].logit) / p.temperature);
  double rest_share = 0;
  std::vector<bool> in_best(static_cast<size_t>(n), false);
  for (const TokenCandidate& c : best) in_best[c.token] = true;
  for (int64_t i = 0; i < n; ++i) {
    const double share =
        std::exp((static_cast<double>(row[i]) - best[0].logit) / p.temperature) / z;
    EXPECT_NEAR(counts[i], share * draws, 1.01) << "token " << i;
    if (!in_best[i]) rest_share += share;
  }
  EXPECT_GT(rest_share, 0.3);
}

}  // namespace
}  // namespace tenbin::kernels
