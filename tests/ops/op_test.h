// Shared harness of the op-test binary: random data, error metrics, and the PASS/FAIL tally.
// Each op file registers its checks in run_*_tests(); op_test.cc runs them for every ISA in
// kernels::available_isas() against the scalar reference (kernels/ref).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernel_table.h"

namespace tenbin::optest {

// Tolerance per op: variant vs scalar reference. Every variant follows the same numeric recipe
// (kernels/ops.h): activations are converted to the same dot partner bit for bit, so only the
// f32 summation order of block terms and float products differs.
//   op                       metric                      bound   why
//   dequantize_row           differing bytes             0       same float ops, exact
//   quantize_row / act       differing bytes             0       same rounding, exact
//   quantize round trip      NMSE vs input               per type (round_trip_bound)
//   matmul (every type)      NMSE                        1e-9    f32 vs double / block order
//   batch invariance         differing bytes             0       same reduction per token
//   rms_norm                 normalized max error        1e-5    shared scale: exact in practice
//   rope                     normalized max error        1e-5    fma vs mul+add rounding
//   softmax                  normalized max error        1e-5    polynomial exp (~2e-7)
//   silu_mul                 normalized max error        1e-5    polynomial exp
//   add                      differing bytes             0
//   attention f32 KV         normalized max error        1e-5
//   attention f16 KV         normalized max error        2e-3    probabilities rounded to f16:
//                                                                one f16 ulp (2^-11) may differ
//   attention bf16 KV        normalized max error        1.6e-2  one bf16 ulp (2^-8) likewise;
//                            share of outputs off by     0.3     the rest bitwise the reference's
//                            any bit                             pair products
//   attention, shuffled vs   differing bytes             0       same rows in the same order;
//     identity block table                                       only their addresses differ
inline constexpr double kTolExact = 0;
inline constexpr double kTolMatmul = 1e-9;
inline constexpr double kTolElementwise = 1e-5;
inline constexpr double kTolAttentionF16 = 2e-3;
// Attention over a BF16 cache: the probabilities are rounded to bf16, so where the softmax's exp
// rounds differently one of them may sit one bf16 step (2^-8) off; and the share of outputs
// that may differ from the reference's bits at all (such a step changes one head's row, a
// quarter of the outputs with four heads; a pair product in another order changes 10-80%).
inline constexpr double kTolAttentionBf16 = 1.6e-2;
inline constexpr double kTolBf16BitsShare = 0.3;
// Normalized mean squared error of attention over a Q8_0 cache against the same K/V in f32
// (int8 rounding of queries, keys and values: measured 3e-5 to 3e-4 on random data).
inline constexpr double kTolAttentionQ8VsF32 = 1e-3;
// NMSE of attention over a BF16 cache against F32 K/V (bf16 keeps 8 significant bits).
inline constexpr double kTolAttentionBf16VsF32 = 1e-4;

struct Tally {
  int passed = 0;
  int failed = 0;
  // One line per op x isa x shape; `err` is the op's metric, `tol` its bound (err <= tol).
  void check(const std::string& op, kernels::Isa isa, const std::string& shape, double err,
             double tol) {
    const bool ok = err <= tol && !std::isnan(err);
    (ok ? passed : failed)++;
    std::printf("%s %-22s %-7s %-40s err=%.3g tol=%.3g\n", ok ? "PASS" : "FAIL", op.c_str(),
                std::string(kernels::isa_name(isa)).c_str(), shape.c_str(), err, tol);
  }
};

// Normalized max error: max|got - want| / max|want| (0 when both are all zero).
inline double max_err(const float* want, const float* got, int64_t n) {
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < n; ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(got[i]) - want[i]));
    if (std::isnan(got[i]) != std::isnan(want[i])) return INFINITY;
    scale = std::max(scale, std::fabs(static_cast<double>(want[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

// Normalized mean squared error: sum (got - want)^2 / sum want^2.
inline double nmse(const float* want, const float* got, int64_t n) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(got[i]) - want[i];
    num += d * d;
    den += static_cast<double>(want[i]) * want[i];
  }
  return den > 0 ? num / den : num;
}

// Count of elements whose bit patterns differ (exactness checks).
inline double bit_mismatches(const void* a, const void* b, int64_t bytes) {
  const auto* x = static_cast<const uint8_t*>(a);
  const auto* y = static_cast<const uint8_t*>(b);
  int64_t n = 0;
  for (int64_t i = 0; i < bytes; ++i) n += x[i] != y[i];
  return static_cast<double>(n);
}

inline std::vector<float> random_floats(std::mt19937& rng, int64_t n, float stddev = 1.0f) {
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

// `n_rows` rows of `cols` elements of `type` with random payload bits and sane scales.
std::vector<uint8_t> random_weights(std::mt19937& rng, DType type, int64_t n_rows, int64_t cols);

void run_elementwise_tests(Tally& tally, std::mt19937& rng);  // op_test_elementwise.cc
void run_quant_tests(Tally& tally, std::mt19937& rng);        // op_test_quant.cc
void run_matmul_tests(Tally& tally, std::mt19937& rng);       // op_test_matmul.cc
void run_perf(int n_threads);                                 // op_perf.cc

}  // namespace tenbin::optest
