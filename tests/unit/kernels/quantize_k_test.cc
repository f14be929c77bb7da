// The Q4_K, Q5_K and Q6_K quantizers (kernels/ref/quantize_k.cc) against bounds known independently
// of the code: on Gaussian data the error must sit between Shannon's rate-distortion limit for the
// format's bits per weight (no quantizer can do better) and the error of plain uniform rounding
// over each sub-block's range; edge rows (zeros, constants, huge values) decode sanely; the
// stored bits decode back to themselves; and a matmul on the quantized matrix stays near f32.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/ops.h"
#include "kernels/ref/ref_ops.h"
#include "tensor/blocks.h"
#include "tensor/half.h"
#include "util/thread_pool.h"

namespace tenbin {
namespace {

double rel_rms(const std::vector<float>& want, const std::vector<float>& got) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    num += (double{got[i]} - want[i]) * (double{got[i]} - want[i]);
    den += double{want[i]} * want[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

std::vector<float> gaussian(int64_t n, unsigned seed, float stddev = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = dist(rng);
  return x;
}

std::vector<uint8_t> quantize(DType type, const std::vector<float>& x) {
  const auto n = static_cast<int64_t>(x.size());
  std::vector<uint8_t> q(static_cast<size_t>(*row_bytes(type, n)));
  EXPECT_TRUE(kernels::quantize_row(type, x.data(), q.data(), n).ok());
  return q;
}

std::vector<float> dequantize(DType type, const std::vector<uint8_t>& q, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  kernels::dequantize_row(type, q.data(), out.data(), n);
  return out;
}

std::vector<float> round_trip(DType type, const std::vector<float>& x) {
  return dequantize(type, quantize(type, x), static_cast<int64_t>(x.size()));
}

double bits_per_weight(DType type) {
  return 8.0 * traits(type).block_bytes / traits(type).block_elems;
}

// Error bounds on unit Gaussian data, relative to its RMS.
// Lower: the distortion-rate function of a Gaussian source, D(R) = 2^-R (as an RMS ratio), with R
// the format's bits per weight (4.5 for Q4_K, 5.5 for Q5_K, 6.5625 for Q6_K) -- 0.044, 0.022 and
// 0.0106. Upper: plain rounding over each sub-block's range has RMS error step / sqrt(12); the
// expected range of 32 Gaussian samples is about 4.1 sigma (Q4_K: step 4.1/15, error 0.079;
// Q5_K: step 4.1/31, error 0.038) and the
// expected largest |x| of 16 is about 2.1 sigma (Q6_K: step 2.1/32, error 0.019). Our fits must
// not be worse than that, with 10% margin for the 6-bit/8-bit sub-block scales.
struct Bounds {
  double lower;
  double upper;
};
Bounds gaussian_bounds(DType type) {
  const double lower = std::pow(2.0, -bits_per_weight(type));
  const double step = type == DType::kQ4_K ? 4.1 / 15 : type == DType::kQ5_K ? 4.1 / 31 : 2.1 / 32;
  return {lower, 1.1 * step / std::sqrt(12.0)};
}

class QuantizeK : public ::testing::TestWithParam<DType> {};

TEST_P(QuantizeK, GaussianErrorBetweenShannonAndPlainRounding) {
  const DType type = GetParam();
  const std::vector<float> x = gaussian(64 * 256, 11);
  const double err = rel_rms(x, round_trip(type, x));
  const Bounds b = gaussian_bounds(type);
  EXPECT_GT(err, b.lower) << dtype_name(type);
  EXPECT_LT(err, b.upper) << dtype_name(type);
  // The error is relative: the same data scaled by 1e-3 or 1e3 quantizes as well.
  for (float scale : {1e-3f, 1e3f}) {
    std::vector<float> scaled = x;
    for (float& v : scaled) v *= scale;
    EXPECT_LT(rel_rms(scaled, round_trip(type, scaled)), b.upper) << scale;
  }
}

TEST_P(QuantizeK, ZerosConstantsAndLargeValues) {
  const DType type = GetParam();
  const std::vector<float> zeros(512, 0.0f);
  const std::vector<uint8_t> qz = quantize(type, zeros);
  EXPECT_EQ(dequantize(type, qz, 512), zeros);

  // A constant comes back within the f16 rounding of d (2^-11 relative, up to one subnormal
  // step 2^-24 for small values) times the largest scale * level product (Q6_K: 127 * 32).
  for (float c : {0.5f, -3.0f, 0.02f}) {
    const std::vector<float> constant(256, c);
    const double tol = std::fabs(c) * 2e-3 + 127 * 32 * std::ldexp(1.0, -24);
    for (float v : round_trip(type, constant)) ASSERT_NEAR(v, c, tol) << dtype_name(type);
  }

  // Mixed zero and non-zero sub-blocks: the zero ones stay exactly zero (no stray offset).
  std::vector<float> mixed = gaussian(256, 3);
  for (int i = 64; i < 128; ++i) mixed[i] = 0;
  const std::vector<float> mixed_back = round_trip(type, mixed);
  for (int i = 64; i < 128; ++i) EXPECT_EQ(mixed_back[i], 0.0f) << i;

  // Large magnitudes (up to 3e4, near the f16 range) give no Inf/NaN and the usual error.
  const std::vector<float> big = gaussian(1024, 5, 1e4f);
  const std::vector<float> big_back = round_trip(type, big);
  for (float v : big_back) ASSERT_TRUE(std::isfinite(v));
  EXPECT_LT(rel_rms(big, big_back), gaussian_bounds(type).upper);

  // One outlier among small values: the outlier survives within one step of its sub-block.
  std::vector<float> spiky = gaussian(256, 9, 0.01f);
  spiky[77] = 5.0f;
  const std::vector<float> spiky_back = round_trip(type, spiky);
  EXPECT_NEAR(spiky_back[77], 5.0f, 5.0f / (type == DType::kQ4_K ? 15 : 31));
}

// Quantizing what a block decodes to reproduces (nearly) the same values: the levels are on the
// grid already, so only the re-derived scales may move them, by far less than the first error.
TEST_P(QuantizeK, RequantizingDecodedBlocksIsStable) {
  const DType type = GetParam();
  const std::vector<float> x = gaussian(32 * 256, 21);
  const std::vector<float> once = round_trip(type, x);
  const std::vector<float> twice = round_trip(type, once);
  const double first = rel_rms(x, once);
  const double second = rel_rms(once, twice);
  EXPECT_LT(second, 0.25 * first) << dtype_name(type) << " first " << first;
  const std::vector<float> thrice = round_trip(type, twice);
  EXPECT_LT(rel_rms(twice, thrice), 0.25 * first);
}

// Bits match the format: hand-built values that sit exactly on a Q6_K / Q4_K grid come back
// exactly, so each element's bits went where the dequantizer reads them.
TEST(QuantizeK, ExactGridValuesComeBackExactly) {
  // Q6_K: step 127 * 2^-9 (so d = 2^-9 exactly), level -32 in every group (the largest |x|).
  const float step6 = 127.0f / 512.0f;
  std::vector<float> x6(256);
  for (int e = 0; e < 256; ++e)
    x6[e] = step6 * static_cast<float>(e % 16 == 0 ? -32 : (e * 7) % 63 - 32);
  EXPECT_EQ(round_trip(DType::kQ6_K, x6), x6);
  // Q4_K: step 63 * 2^-7 (d = 2^-7), no offset, levels 0 and 15 in every sub-block.
  const float step4 = 63.0f / 128.0f;
  std::vector<float> x4(256);
  for (int e = 0; e < 256; ++e) x4[e] = step4 * static_cast<float>(e % 32 == 0 ? 15 : (e * 5) % 16);
  EXPECT_EQ(round_trip(DType::kQ4_K, x4), x4);
  // Q5_K: the same step, levels 0 and 31 in every sub-block (the fifth bit of every element
  // set somewhere).
  std::vector<float> x5(256);
  for (int e = 0; e < 256; ++e) x5[e] = step4 * static_cast<float>(e % 32 == 0 ? 31 : (e * 5) % 32);
  EXPECT_EQ(round_trip(DType::kQ5_K, x5), x5);
  // A per-element check of where bits land: a single non-zero element at every position.
  for (int pos = 0; pos < 256; pos += 37) {
    std::vector<float> one(256, 0.0f);
    one[pos] = 2.0f;
    for (DType type : {DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
      const std::vector<float> back = round_trip(type, one);
      for (int e = 0; e < 256; ++e) {
        ASSERT_NEAR(back[e], e == pos ? 2.0f : 0.0f, 2e-3) << dtype_name(type) << " pos " << pos;
      }
    }
  }
}

// y = W x with W quantized (through the dispatched matmul: SIMD and packed layouts included)
// against the f32 matmul: with independent per-weight errors of relative size e, each output's
// relative error is about e too; the activations' Q8_K rounding adds well under 1%.
TEST_P(QuantizeK, MatmulNearF32) {
  const DType type = GetParam();
  const int64_t rows = 64, cols = 1024, tokens = 3;
  const std::vector<float> w = gaussian(rows * cols, 31, 0.03f);
  const std::vector<float> x = gaussian(tokens * cols, 32);
  const std::vector<uint8_t> wq = quantize(type, w);
  const std::vector<float> wd = dequantize(type, wq, rows * cols);
  ThreadPool pool(2);
  std::vector<float> y_q(tokens * rows), y_f(tokens * rows), y_d(tokens * rows);
  kernels::matmul({type, wq.data(), rows, cols}, x.data(), tokens, y_q.data(), pool);
  kernels::ref::matmul({DType::kF32, w.data(), rows, cols}, x.data(), tokens, y_f.data(), pool);
  kernels::ref::matmul({DType::kF32, wd.data(), rows, cols}, x.data(), tokens, y_d.data(), pool);
  EXPECT_LT(rel_rms(y_f, y_q), 1.2 * gaussian_bounds(type).upper) << dtype_name(type);
  EXPECT_GT(rel_rms(y_f, y_q), 0.5 * gaussian_bounds(type).lower) << dtype_name(type);
  // Against the dequantized weights only the activation rounding remains.
  EXPECT_LT(rel_rms(y_d, y_q), 0.01) << dtype_name(type);
}

INSTANTIATE_TEST_SUITE_P(Types, QuantizeK,
                         ::testing::Values(DType::kQ4_K, DType::kQ5_K, DType::kQ6_K),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(QuantizeK, RaggedLengthsAreRefused) {
  std::vector<float> x(300, 1.0f);
  std::vector<uint8_t> out(1024);
  EXPECT_FALSE(kernels::quantize_row(DType::kQ4_K, x.data(), out.data(), 300).ok());
  EXPECT_FALSE(kernels::quantize_row(DType::kQ5_K, x.data(), out.data(), 300).ok());
  EXPECT_FALSE(kernels::quantize_row(DType::kQ6_K, x.data(), out.data(), 128).ok());
}

}  // namespace
}  // namespace tenbin
