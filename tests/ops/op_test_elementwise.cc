// Checks of rms_norm, rope (both styles, partial rotation), softmax, silu_mul, add and
// attention (F32 and F16 K/V, grouped-query) for every ISA against the reference, and that
// elementwise results do not depend on how many tokens' rows share a call.
#include <fmt/format.h>

#include "kernels/ref/ref_ops.h"
#include "op_test.h"
#include "tensor/half.h"

namespace tenbin::optest {
namespace {

using kernels::Isa;
using kernels::KernelTable;
namespace ref = kernels::ref;

const int64_t kSizes[] = {1, 7, 16, 33, 288, 4096, 4096 + 13};

void check_rows(Tally& tally, std::mt19937& rng, const KernelTable& t) {
  for (int64_t n : kSizes) {
    const auto x = random_floats(rng, n), w = random_floats(rng, n), g = random_floats(rng, n, 4);
    std::vector<float> want(n), got(n);
    const std::string shape = fmt::format("n={}", n);

    ref::rms_norm(x.data(), w.data(), want.data(), n, 1e-5f);
    t.rms_norm(x.data(), w.data(), got.data(), n, 1e-5f);
    tally.check("rms_norm", t.isa, shape, max_err(want.data(), got.data(), n), kTolElementwise);

    want = g;
    got = g;
    ref::softmax(want.data(), n);
    t.softmax(got.data(), n);
    tally.check("softmax", t.isa, shape, max_err(want.data(), got.data(), n), kTolElementwise);

    ref::silu_mul(g.data(), x.data(), want.data(), n);
    t.silu_mul(g.data(), x.data(), got.data(), n);
    tally.check("silu_mul", t.isa, shape, max_err(want.data(), got.data(), n), kTolElementwise);

    ref::add(x.data(), w.data(), want.data(), n);
    got = x;
    t.add(got.data(), w.data(), got.data(), n);  // aliased output
    tally.check("add", t.isa, shape, bit_mismatches(want.data(), got.data(), n * 4), kTolExact);
  }
}

// Model code applies the elementwise ops to all tokens' rows in one call (e.g. silu_mul over
// n_tokens * n_ff): a token's result must not depend on how many rows precede or follow it.
void check_row_batch_invariance(Tally& tally, std::mt19937& rng, const KernelTable& t) {
  const int64_t nt = 5;
  for (int64_t n : {int64_t{172}, int64_t{64}, int64_t{13}}) {
    const auto g = random_floats(rng, nt * n, 4), u = random_floats(rng, nt * n);
    std::vector<float> batch(nt * n), single(n);
    t.silu_mul(g.data(), u.data(), batch.data(), nt * n);
    double silu_bad = 0, add_bad = 0;
    for (int64_t tok = 0; tok < nt; ++tok) {
      t.silu_mul(g.data() + tok * n, u.data() + tok * n, single.data(), n);
      silu_bad += bit_mismatches(single.data(), batch.data() + tok * n, n * 4);
    }
    t.add(g.data(), u.data(), batch.data(), nt * n);
    for (int64_t tok = 0; tok < nt; ++tok) {
      t.add(g.data() + tok * n, u.data() + tok * n, single.data(), n);
      add_bad += bit_mismatches(single.data(), batch.data() + tok * n, n * 4);
    }
    const std::string shape = fmt::format("n={} tokens=1 vs {}", n, nt);
    tally.check("batch_invariance_silu", t.isa, shape, silu_bad, kTolExact);
    tally.check("batch_invariance_add", t.isa, shape, add_bad, kTolExact);
  }
}

void check_rope(Tally& tally, std::mt19937& rng, const KernelTable& t) {
  struct Case {
    int n_heads, head_dim, rot_dim, pos;
    float base, scale;
  };
  const Case cases[] = {{4, 64, 64, 0, 10000, 1},     {8, 128, 128, 7, 10000, 1},
                        {3, 64, 32, 1000, 1e6f, 1},   {2, 80, 24, 123, 10000, 0.25f},
                        {5, 128, 128, 4095, 5e5f, 1}, {1, 6, 6, 3, 10000, 1}};
  for (const auto& c : cases) {
    for (auto style : {kernels::RopeStyle::kNormal, kernels::RopeStyle::kNeox}) {
      kernels::RopeParams p{style, c.rot_dim, c.base, c.scale};
      auto want = random_floats(rng, int64_t{c.n_heads} * c.head_dim);
      auto got = want;
      ref::rope(want.data(), c.n_heads, c.head_dim, c.pos, p);
      t.rope(got.data(), c.n_heads, c.head_dim, c.pos, p);
      const std::string op = style == kernels::RopeStyle::kNormal ? "rope_normal" : "rope_neox";
      tally.check(op, t.isa,
                  fmt::format("heads={} hd={} rot={} pos={} base={} scale={}", c.n_heads,
                              c.head_dim, c.rot_dim, c.pos, c.base, c.scale),
                  max_err(want.data(), got.data(), static_cast<int64_t>(want.size())),
                  kTolElementwise);
    }
  }
}

void check_attention(Tally& tally, std::mt19937& rng, const KernelTable& t) {
  struct Case {
    int n_heads, n_kv_heads, head_dim;
    int64_t n_ctx, pad;
  };
  const Case cases[] = {{4, 4, 64, 1, 0},
                        {8, 2, 64, 7, 0},
                        {8, 4, 128, 100, 16},
                        {6, 1, 80, 33, 8},
                        {32, 8, 128, 513, 0}};
  for (const auto& c : cases) {
    for (DType kv : {DType::kF32, DType::kF16}) {
      kernels::AttentionShape s;
      s.n_heads = c.n_heads;
      s.n_kv_heads = c.n_kv_heads;
      s.head_dim = c.head_dim;
      s.kv_row_stride = int64_t{c.n_kv_heads} * c.head_dim + c.pad;
      s.kv_type = kv;
      s.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
      const int64_t kv_elems = c.n_ctx * s.kv_row_stride;
      const auto q = random_floats(rng, int64_t{c.n_heads} * c.head_dim, 2);
      auto kf = random_floats(rng, kv_elems), vf = random_floats(rng, kv_elems);
      std::vector<uint16_t> kh(kv_elems), vh(kv_elems);
      for (int64_t i = 0; i < kv_elems; ++i) {
        kh[i] = f32_to_fp16(kf[i]);
        vh[i] = f32_to_fp16(vf[i]);
      }
      const void* k = kv == DType::kF16 ? static_cast<const void*>(kh.data()) : kf.data();
      const void* v = kv == DType::kF16 ? static_cast<const void*>(vh.data()) : vf.data();
      std::vector<float> want(q.size()), got(q.size());
      ref::attention(q.data(), k, v, c.n_ctx, s, want.data());
      t.attention(q.data(), k, v, c.n_ctx, s, got.data());
      tally.check(kv == DType::kF16 ? "attention_f16" : "attention_f32", t.isa,
                  fmt::format("heads={}/{} hd={} ctx={} stride={}", c.n_heads, c.n_kv_heads,
                              c.head_dim, c.n_ctx, s.kv_row_stride),
                  max_err(want.data(), got.data(), static_cast<int64_t>(q.size())),
                  kv == DType::kF16 ? kTolAttentionF16 : kTolElementwise);
    }
  }
}

}  // namespace

void run_elementwise_tests(Tally& tally, std::mt19937& rng) {
  for (Isa isa : kernels::available_isas()) {
    const KernelTable& t = kernels::kernel_table(isa);
    check_rows(tally, rng, t);
    check_row_batch_invariance(tally, rng, t);
    check_rope(tally, rng, t);
    check_attention(tally, rng, t);
  }
}

}  // namespace tenbin::optest
