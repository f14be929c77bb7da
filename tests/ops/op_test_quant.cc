// Checks of dequantize_row (every type, bit-exact against the reference), quantize_row (every
// target, bit-exact) and quantize -> dequantize round-trip error per target type.
#include <cmath>
#include <cstddef>
#include <cstring>

#include <fmt/format.h>

#include "kernels/ref/ref_ops.h"
#include "op_test.h"
#include "tensor/blocks.h"
#include "tensor/half.h"

namespace tenbin::optest {

namespace {

using kernels::Isa;
namespace ref = kernels::ref;

// Byte offsets of the f16 scale fields (d first) of each block format.
std::vector<size_t> f16_fields(DType type) {
  switch (type) {
    case DType::kQ4_0:
      return {offsetof(BlockQ4_0, d)};
    case DType::kQ4_1:
      return {offsetof(BlockQ4_1, d), offsetof(BlockQ4_1, m)};
    case DType::kQ5_0:
      return {offsetof(BlockQ5_0, d)};
    case DType::kQ5_1:
      return {offsetof(BlockQ5_1, d), offsetof(BlockQ5_1, m)};
    case DType::kQ8_0:
      return {offsetof(BlockQ8_0, d)};
    case DType::kQ8_1:
      return {offsetof(BlockQ8_1, d), offsetof(BlockQ8_1, s)};
    case DType::kQ2_K:
      return {offsetof(BlockQ2_K, d), offsetof(BlockQ2_K, dmin)};
    case DType::kQ3_K:
      return {offsetof(BlockQ3_K, d)};
    case DType::kQ4_K:
      return {offsetof(BlockQ4_K, d), offsetof(BlockQ4_K, dmin)};
    case DType::kQ5_K:
      return {offsetof(BlockQ5_K, d), offsetof(BlockQ5_K, dmin)};
    case DType::kQ6_K:
      return {offsetof(BlockQ6_K, d)};
    default:
      return {};
  }
}

// Round-trip bounds (NMSE of dequantize(quantize(x)) vs x, x ~ N(0, 1)).
double round_trip_bound(DType type) {
  switch (type) {
    case DType::kF32:
      return 0;
    case DType::kF16:
      return 1e-7;
    case DType::kBF16:
      return 1e-5;
    case DType::kQ8_0:
      return 1e-4;
    case DType::kQ8_K:
      return 1e-4;
    case DType::kQ4_0:
      return 2e-2;
    case DType::kQ4_K:
      return 1e-2;
    case DType::kQ6_K:
      return 1e-3;
    default:
      return 0;
  }
}

}  // namespace

const DType kAllTypes[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ4_0, DType::kQ4_1,
                           DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kQ8_1, DType::kQ2_K,
                           DType::kQ3_K, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kQ8_K};

std::vector<uint8_t> random_weights(std::mt19937& rng, DType type, int64_t n_rows, int64_t cols) {
  const int64_t n = n_rows * cols;
  const auto values = random_floats(rng, n);
  std::vector<uint8_t> out(static_cast<size_t>(*row_bytes(type, cols) * n_rows));
  if (type == DType::kF32 || type == DType::kF16 || type == DType::kBF16) {
    (void)ref::quantize_row(type, values.data(), out.data(), n);
    return out;
  }
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : out) b = static_cast<uint8_t>(byte(rng));
  const DTypeTraits& t = traits(type);
  std::uniform_real_distribution<float> scale(0.001f, 0.02f);
  for (int64_t blk = 0; blk < n / t.block_elems; ++blk) {
    uint8_t* base = out.data() + blk * t.block_bytes;
    if (type == DType::kQ8_K) {
      const float d = scale(rng);
      std::memcpy(base + offsetof(BlockQ8_K, d), &d, sizeof d);
      continue;
    }
    bool first = true;
    for (size_t off : f16_fields(type)) {
      const float v = first ? scale(rng) : scale(rng) * 4;  // d, then min/offset fields
      const uint16_t h = f32_to_fp16(v);
      std::memcpy(base + off, &h, sizeof h);
      first = false;
    }
  }
  return out;
}

void run_quant_tests(Tally& tally, std::mt19937& rng) {
  for (Isa isa : kernels::available_isas()) {
    const kernels::KernelTable& table = kernels::kernel_table(isa);
    for (DType type : kAllTypes) {
      const int64_t be = traits(type).block_elems;
      for (int64_t blocks : {int64_t{1}, int64_t{3}, int64_t{17}}) {
        const int64_t n = std::max<int64_t>(blocks * be, blocks * 32 + (be == 1 ? 5 : 0));
        const auto w = random_weights(rng, type, 1, n);
        std::vector<float> want(n), got(n);
        ref::dequantize_row(type, w.data(), want.data(), n);
        table.of(type).dequantize(w.data(), got.data(), n);
        tally.check(fmt::format("dequantize_{}", dtype_name(type)), isa, fmt::format("n={}", n),
                    bit_mismatches(want.data(), got.data(), n * 4), kTolExact);
      }
    }
    for (DType type : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0,
                       DType::kQ8_K, DType::kQ4_K, DType::kQ6_K}) {
      for (int64_t n : {int64_t{256}, int64_t{4096 + 256}}) {
        const auto x = random_floats(rng, n);
        const int64_t bytes = *row_bytes(type, n);
        std::vector<uint8_t> want(bytes), got(bytes);
        const bool ok = ref::quantize_row(type, x.data(), want.data(), n).ok() &&
                        table.quantize_row(type, x.data(), got.data(), n).ok();
        const std::string shape = fmt::format("n={}", n);
        tally.check(fmt::format("quantize_{}", dtype_name(type)), isa, shape,
                    ok ? bit_mismatches(want.data(), got.data(), bytes) : 1, kTolExact);
        std::vector<float> back(n);
        ref::dequantize_row(type, got.data(), back.data(), n);
        tally.check(fmt::format("roundtrip_{}", dtype_name(type)), isa, shape,
                    nmse(x.data(), back.data(), n), round_trip_bound(type));
      }
    }
    // Activation formats of the matmul recipe: every table uses the same bits as the reference.
    for (DType act :
         {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ8_1, DType::kQ8_K}) {
      const int64_t n = 4096 + 256;
      const int64_t bytes = *row_bytes(act, n);
      // Random values, then edge cases: an all-zero block, ties of the rounding (amax 127
      // makes the scale 1, so x.5 values tie), and the largest magnitude with both signs.
      std::vector<float> edge = random_floats(rng, n);
      for (int64_t i = 0; i < 256; ++i) edge[i] = 0;
      for (int64_t i = 256; i < 512; ++i) edge[i] = static_cast<float>(i % 40) - 19.5f;
      edge[256] = 127;
      for (int64_t i = 512; i < 768; ++i) edge[i] = static_cast<float>((i * 7) % 13) - 6;
      edge[600] = -6.5f;
      edge[700] = 6.5f;
      std::vector<float> plain = random_floats(rng, n);
      for (const std::vector<float>* input : {&plain, &edge}) {
        const std::vector<float>& x = *input;
        std::vector<uint8_t> want(bytes), got(bytes);
        ref::quantize_act_for(act)(x.data(), want.data(), n);
        table.quantize_act[static_cast<size_t>(act)](x.data(), got.data(), n);
        tally.check(fmt::format("quantize_act_{}", dtype_name(act)), isa,
                    fmt::format("n={}{}", n, input == &edge ? " edge" : ""),
                    bit_mismatches(want.data(), got.data(), bytes), kTolExact);
      }
    }
    // F16 rows (the KV cache's stores) at the conversion's edges, in the vector body and the
    // tail: overflow to inf, the largest finite value, ties, subnormals, signed zero, inf, NaN.
    {
      std::vector<float> x = {0.0f,
                              -0.0f,
                              65504.0f,
                              65519.0f,
                              65520.0f,
                              -1e6f,
                              INFINITY,
                              -INFINITY,
                              NAN,
                              6e-8f,
                              2.98e-8f,
                              5.96e-8f,
                              -6.1e-5f,
                              1.0f + 1.0f / 2048,
                              1.0f + 3.0f / 2048,
                              -3.0e-5f,
                              1e-10f,
                              -65535.0f,
                              0.33333334f,
                              -2.0f / 3};
      x.insert(x.end(), x.begin(), x.end());  // 40 values: every position of the vector body
      const auto n = static_cast<int64_t>(x.size());
      std::vector<uint16_t> want(x.size()), got(x.size());
      const bool ok = ref::quantize_row(DType::kF16, x.data(), want.data(), n).ok() &&
                      table.quantize_row(DType::kF16, x.data(), got.data(), n).ok();
      tally.check("quantize_f16", isa, "n=40 edge",
                  ok ? bit_mismatches(want.data(), got.data(), n * 2) : 1, kTolExact);
    }
    // Unsupported targets and ragged lengths are refused, not written.
    std::vector<float> x(64);
    std::vector<uint8_t> out(1024);
    const bool refused = !table.quantize_row(DType::kQ3_K, x.data(), out.data(), 256).ok() &&
                         !table.quantize_row(DType::kQ8_0, x.data(), out.data(), 33).ok();
    tally.check("quantize_refusals", isa, "q3_K n=256, q8_0 n=33", refused ? 0 : 1, kTolExact);
  }
}

}  // namespace tenbin::optest
