// Dequantizes real GGUF tensors (the shared mini-llama synthetic models, one file per
// quantization) and compares them with the same tensors of the f32 file: each format must land
// within its expected quantization error, which a wrong bit layout would not. Also checks the
// K-quant files really hold K-quant tensors, and quantize -> dequantize round trips.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "kernels/kernel_table.h"
#include "kernels/ops.h"
#include "kernels/ref/ref_ops.h"
#include "model/gguf/gguf_file.h"
#include "tensor/blocks.h"
#include "tensor/half.h"
#include "unit/test_data.h"

namespace tenbin {
namespace {

std::string model_path(const std::string& quant) {
  return test::shared_path("models/synthetic/mini-llama-random-" + quant + ".gguf");
}

// Relative RMS error: sqrt(sum (got - want)^2 / sum want^2).
double rel_rms(const std::vector<float>& want, const std::vector<float>& got) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    num += (static_cast<double>(got[i]) - want[i]) * (static_cast<double>(got[i]) - want[i]);
    den += static_cast<double>(want[i]) * want[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

std::vector<float> dequantize_tensor(const GgufTensor& t, kernels::Isa isa) {
  std::vector<float> out(static_cast<size_t>(t.n_elements));
  const int64_t rb = *row_bytes(t.type, t.cols());
  const auto& table = kernels::kernel_table(isa);
  for (int64_t r = 0; r < t.rows(); ++r) {
    table.of(t.type).dequantize(t.data + r * rb, out.data() + r * t.cols(), t.cols());
  }
  return out;
}

// Upper bounds on relative RMS error per tensor type, about 1.3x what these random-weight
// models measure (in the comments); one bit less per weight roughly doubles the error, so a
// wrong bit layout lands far outside.
double bound_for(DType type) {
  switch (type) {
    case DType::kF16:
      return 3e-4;  // 2.1e-4
    case DType::kQ8_0:
      return 0.007;  // 0.0054
    case DType::kQ6_K:
      return 0.023;  // 0.018
    case DType::kQ5_K:
      return 0.047;  // 0.036
    case DType::kQ5_1:
      return 0.05;  // 0.038
    case DType::kQ5_0:
      return 0.056;  // 0.043
    case DType::kQ4_K:
      return 0.093;  // 0.072
    case DType::kQ4_1:
      return 0.10;  // 0.079
    case DType::kQ4_0:
      return 0.11;  // 0.087
    case DType::kQ3_K:
      return 0.20;  // 0.15
    case DType::kQ2_K:
      return 0.39;  // 0.30
    default:
      return 0;
  }
}

struct QuantFile {
  std::string name;
  std::vector<DType> must_contain;
};

class QuantFormatsTest : public ::testing::TestWithParam<QuantFile> {};

TEST_P(QuantFormatsTest, MatchesF32WithinQuantizationError) {
  auto ref_file = GgufFile::open(model_path("f32"));
  ASSERT_TRUE(ref_file.ok()) << ref_file.status().message();
  auto file = GgufFile::open(model_path(GetParam().name));
  ASSERT_TRUE(file.ok()) << file.status().message();
  std::set<DType> seen;
  int compared = 0;
  for (const GgufTensor& t : (*file)->tensors()) {
    const GgufTensor* want_t = (*ref_file)->tensor(t.name);
    ASSERT_NE(want_t, nullptr) << t.name;
    ASSERT_EQ(want_t->type, DType::kF32) << t.name;
    ASSERT_EQ(want_t->n_elements, t.n_elements) << t.name;
    if (t.type == DType::kF32) continue;
    seen.insert(t.type);
    const std::vector<float> want(reinterpret_cast<const float*>(want_t->data),
                                  reinterpret_cast<const float*>(want_t->data) + t.n_elements);
    const std::vector<float> got = dequantize_tensor(t, kernels::Isa::kScalar);
    const double err = rel_rms(want, got);
    EXPECT_LE(err, bound_for(t.type)) << t.name << " (" << dtype_name(t.type) << ")";
    for (kernels::Isa isa : kernels::available_isas()) {  // SIMD dequantizers: bit-exact
      EXPECT_EQ(dequantize_tensor(t, isa), got) << t.name << " " << kernels::isa_name(isa);
    }
    ++compared;
  }
  EXPECT_GT(compared, 0);
  for (DType type : GetParam().must_contain) {
    EXPECT_TRUE(seen.count(type)) << GetParam().name << " has no " << dtype_name(type) << " tensor";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Files, QuantFormatsTest,
    ::testing::Values(QuantFile{"f16", {DType::kF16}}, QuantFile{"q8_0", {DType::kQ8_0}},
                      QuantFile{"q4_0", {DType::kQ4_0}}, QuantFile{"q4_1", {DType::kQ4_1}},
                      QuantFile{"q5_0", {DType::kQ5_0}}, QuantFile{"q5_1", {DType::kQ5_1}},
                      QuantFile{"q6_k", {DType::kQ6_K}}, QuantFile{"q2_k", {DType::kQ2_K}},
                      QuantFile{"q3_k_m", {DType::kQ3_K}},
                      QuantFile{"q4_k_m", {DType::kQ4_K, DType::kQ6_K}},
                      QuantFile{"q5_k_m", {DType::kQ5_K, DType::kQ6_K}}),
    [](const auto& info) { return info.param.name; });

// A quantized matmul on real weights agrees with the f32 weights' matmul.
TEST(QuantFormats, RealWeightMatmulNearF32) {
  auto ref_file = GgufFile::open(model_path("f32"));
  auto file = GgufFile::open(model_path("q4_k_m"));
  ASSERT_TRUE(ref_file.ok() && file.ok());
  const GgufTensor* wq = (*file)->tensor("blk.0.attn_q.weight");
  const GgufTensor* wf = (*ref_file)->tensor("blk.0.attn_q.weight");
  ASSERT_TRUE(wq != nullptr && wf != nullptr);
  std::mt19937 rng(3);
  std::normal_distribution<float> dist;
  const int64_t nt = 3;
  std::vector<float> x(static_cast<size_t>(nt * wq->cols()));
  for (auto& v : x) v = dist(rng);
  std::vector<float> yq(nt * wq->rows()), yf(nt * wq->rows());
  ThreadPool pool(2);
  kernels::matmul({wq->type, wq->data, wq->rows(), wq->cols()}, x.data(), nt, yq.data(), pool);
  kernels::ref::matmul({wf->type, wf->data, wf->rows(), wf->cols()}, x.data(), nt, yf.data(), pool);
  EXPECT_LE(rel_rms(yf, yq), 0.15);
}

TEST(QuantFormats, QuantizeDequantizeRoundTrip) {
  std::mt19937 rng(5);
  std::normal_distribution<float> dist;
  const int64_t n = 4096;
  std::vector<float> x(n), back(n);
  for (auto& v : x) v = dist(rng);
  const std::map<DType, double> bounds = {{DType::kF32, 0},
                                          {DType::kF16, 5e-4},
                                          {DType::kBF16, 4e-3},
                                          {DType::kQ8_0, 0.01},
                                          {DType::kQ4_0, 0.15}};
  for (const auto& [type, bound] : bounds) {
    std::vector<uint8_t> q(static_cast<size_t>(*row_bytes(type, n)));
    ASSERT_TRUE(kernels::quantize_row(type, x.data(), q.data(), n).ok());
    kernels::dequantize_row(type, q.data(), back.data(), n);
    EXPECT_LE(rel_rms(x, back), bound) << dtype_name(type);
  }
}

// The activation formats of the matmul recipe (kernels/ops.h), on hand-made blocks.
TEST(QuantFormats, ActivationQuantizersFollowRecipe) {
  std::vector<float> x(256, 0.0f);
  x[3] = 2.0f;  // the largest magnitude, positive: Q8_K's d comes out negative
  x[7] = -1.0f;
  x[40] = 0.5f;
  BlockQ8_K k{};
  kernels::ref::quantize_q8_k(x.data(), &k, 256);
  EXPECT_FLOAT_EQ(k.d, 1.0f / (-127.0f / 2.0f));
  EXPECT_EQ(k.qs[3], -127);
  EXPECT_EQ(k.qs[7], 64);  // round-half-even of 63.5
  EXPECT_EQ(k.qs[40], -32);
  EXPECT_EQ(k.bsums[0], -127 + 64);
  EXPECT_EQ(k.bsums[2], -32);
  std::vector<float> zeros(256, 0.0f);
  kernels::ref::quantize_q8_k(zeros.data(), &k, 256);
  EXPECT_EQ(k.d, 0.0f);
  EXPECT_EQ(k.bsums[0], 0);

  BlockQ8_1 b{};
  kernels::ref::quantize_act_q8_1(x.data(), &b, 32);
  EXPECT_EQ(b.d, f32_to_fp16(2.0f / 127.0f));
  EXPECT_EQ(b.qs[3], 127);
  EXPECT_EQ(b.qs[7], -64);  // -63.5 rounds to even
  EXPECT_EQ(b.s, f32_to_fp16(2.0f / 127.0f * (127 - 64)));
  BlockQ8_0 z{};
  kernels::ref::quantize_act_q8_0(zeros.data(), &z, 32);
  EXPECT_EQ(z.d, 0);
  for (int8_t q : z.qs) EXPECT_EQ(q, 0);
}

TEST(QuantFormats, RowBytesRefusesOverflow) {
  EXPECT_EQ(row_bytes(DType::kQ4_0, 64), 36);
  EXPECT_FALSE(row_bytes(DType::kF32, INT64_MAX / 2).has_value());
  EXPECT_FALSE(row_bytes(DType::kQ8_K, (INT64_MAX / 256) * 256).has_value());
  EXPECT_FALSE(row_bytes(DType::kQ4_0, -32).has_value());
}

}  // namespace
}  // namespace tenbin
