// Checks of rms_norm, rope (both styles, partial rotation), softmax, silu_mul, add and paged
// attention (F32, F16, BF16 and Q8_0 K/V, grouped-query, shuffled block tables) for every ISA
// against the
// reference, and that results do not depend on how many tokens' rows share a call nor, for
// attention, on where the blocks are stored.
#include <algorithm>

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

// A paged K/V pair: n_blocks * block_size slots of row_stride elements in both types, read as
// head-major blocks (kernels/kv_layout.h).
struct PagedKv {
  std::vector<float> kf, vf;
  std::vector<uint16_t> kh, vh;
  std::vector<uint8_t> k8, v8;   // Q8_0, where the shape allows one
  std::vector<uint16_t> kb, vb;  // BF16, where the shape allows one
  const void* k_of(DType type) const {
    if (type == DType::kQ8_0) return k8.data();
    if (type == DType::kBF16) return kb.data();
    return type == DType::kF16 ? static_cast<const void*>(kh.data()) : kf.data();
  }
  const void* v_of(DType type) const {
    if (type == DType::kQ8_0) return v8.data();
    if (type == DType::kBF16) return vb.data();
    return type == DType::kF16 ? static_cast<const void*>(vh.data()) : vf.data();
  }
  kernels::KvView view(DType type, const std::vector<int32_t>& table, int bs,
                       int64_t stride) const {
    kernels::KvView v;
    v.k = k_of(type);
    v.v = v_of(type);
    v.block_table = table.data();
    v.block_size = bs;
    v.row_stride = stride;
    v.type = type;
    v.layout = kernels::KvLayout::kHeadBlocks;  // the CPU backend's layout
    return v;
  }
};

PagedKv random_kv(std::mt19937& rng, int64_t n_elems) {
  PagedKv kv;
  kv.kf = random_floats(rng, n_elems);
  kv.vf = random_floats(rng, n_elems);
  kv.kh.resize(n_elems);
  kv.vh.resize(n_elems);
  for (int64_t i = 0; i < n_elems; ++i) {
    kv.kh[i] = f32_to_fp16(kv.kf[i]);
    kv.vh[i] = f32_to_fp16(kv.vf[i]);
  }
  return kv;
}

// Blocks table[0], table[1], ... of `pool` (`unit` values each) as blocks 0, 1, ...
template <class T>
std::vector<T> moved_blocks(const std::vector<T>& pool, const std::vector<int32_t>& table,
                            int64_t unit) {
  std::vector<T> out(table.size() * unit);
  for (size_t b = 0; b < table.size(); ++b) {
    std::copy_n(pool.begin() + table[b] * unit, unit, out.begin() + b * unit);
  }
  return out;
}

// A Q8_0 cache holds what a model can store in one: whole 32-element groups per head and slot.
bool q8_shape(int head_dim, int64_t stride) {
  return head_dim % kernels::kKvQ8Group == 0 && stride % kernels::kKvQ8Group == 0;
}

// Every slot's rows of kv.kf/vf (the f32 cache in the CPU layout) passed to a reference
// store (ref::store_kv_q8_0, ref::store_kv_bf16) that writes them into k and v in `layout`.
using RowStore = void (*)(const float*, kernels::KvLayout, bool, void*, int64_t, int, int64_t, int,
                          int);
void store_rows(const PagedKv& kv, RowStore store, void* k, void* v, int64_t n_slots,
                int block_size, int64_t stride, int n_kv, int head_dim, kernels::KvLayout layout) {
  std::vector<float> row(static_cast<size_t>(head_dim));
  for (int64_t s = 0; s < n_slots; ++s) {
    for (int g = 0; g < n_kv; ++g) {
      for (bool is_key : {true, false}) {
        for (int d = 0; d < head_dim; ++d) {
          row[d] = (is_key ? kv.kf : kv.vf)[kernels::kv_element_index(
              kernels::KvLayout::kHeadBlocks, is_key, s, block_size, stride, head_dim, g, d)];
        }
        store(row.data(), layout, is_key, is_key ? k : v, s, block_size, stride, head_dim, g);
      }
    }
  }
}

// kv.k8/v8: kv.kf/vf stored by the reference Q8_0 store in `layout`.
void fill_q8(PagedKv& kv, int64_t n_slots, int block_size, int64_t stride, int n_kv, int head_dim,
             kernels::KvLayout layout = kernels::KvLayout::kHeadBlocks) {
  const auto bytes = static_cast<size_t>(kernels::kv_bytes(DType::kQ8_0, n_slots * stride));
  kv.k8.assign(bytes, 0);
  kv.v8.assign(bytes, 0);
  store_rows(kv, ref::store_kv_q8_0, kv.k8.data(), kv.v8.data(), n_slots, block_size, stride, n_kv,
             head_dim, layout);
}

// A BF16 cache holds value pairs: even head sizes and block sizes.
bool bf16_shape(int head_dim, int block_size) {
  return head_dim % 2 == 0 && block_size % 2 == 0;
}

// kv.kb/vb: kv.kf/vf stored by the reference BF16 store in `layout`.
void fill_bf16(PagedKv& kv, int64_t n_slots, int block_size, int64_t stride, int n_kv, int head_dim,
               kernels::KvLayout layout = kernels::KvLayout::kHeadBlocks) {
  kv.kb.assign(static_cast<size_t>(n_slots * stride), 0);
  kv.vb.assign(static_cast<size_t>(n_slots * stride), 0);
  store_rows(kv, ref::store_kv_bf16, kv.kb.data(), kv.vb.data(), n_slots, block_size, stride, n_kv,
             head_dim, layout);
}

double attention_tolerance(DType type) {
  // Q8_0 and BF16 variants follow the reference's operations except inside the softmax.
  if (type == DType::kBF16) return kTolAttentionBf16;
  return type == DType::kF16 ? kTolAttentionF16 : kTolElementwise;
}

std::string attention_name(DType type) {
  return std::string("attention_") + std::string(dtype_name(type));
}

// attention_span over the last n_q positions of a context (rows padded on both sides): every
// token against the reference, bitwise against attention() of that token alone, and bitwise
// against the span cut in two pieces, so how a prefill is split never changes an output.
void check_attention_span(Tally& tally, std::mt19937& rng, const KernelTable& t,
                          const kernels::KvView& view, int64_t n_ctx,
                          const kernels::AttentionShape& s, const std::string& name,
                          const std::string& shape) {
  const int64_t n_q = std::min<int64_t>(n_ctx, 11), first = n_ctx - n_q + 1;
  const int64_t width = int64_t{s.n_heads} * s.head_dim, q_stride = width + 5;
  const int64_t out_stride = width + 3;
  const auto q = random_floats(rng, n_q * q_stride, 2);
  std::vector<float> got(n_q * out_stride, 7.0f), pieces(n_q * out_stride, 7.0f);
  std::vector<float> alone(width), want(width);
  t.attention_span(q.data(), q_stride, n_q, view, first, s, got.data(), out_stride);
  const int64_t cut = n_q / 3;
  t.attention_span(q.data(), q_stride, cut, view, first, s, pieces.data(), out_stride);
  t.attention_span(q.data() + cut * q_stride, q_stride, n_q - cut, view, first + cut, s,
                   pieces.data() + cut * out_stride, out_stride);
  double err = 0;
  int64_t vs_alone = 0, vs_pieces = 0, padding = 0;
  for (int64_t i = 0; i < n_q; ++i) {
    const float* row = got.data() + i * out_stride;
    ref::attention(q.data() + i * q_stride, view, first + i, s, want.data());
    t.attention(q.data() + i * q_stride, view, first + i, s, alone.data());
    err = std::max(err, max_err(want.data(), row, width));
    vs_alone += bit_mismatches(alone.data(), row, width * 4);
    vs_pieces += bit_mismatches(pieces.data() + i * out_stride, row, width * 4);
    for (int64_t j = width; j < out_stride; ++j) padding += row[j] != 7.0f;
  }
  const std::string span = fmt::format("{} span of {} ending at ctx {}", shape, n_q, n_ctx);
  tally.check(name + "_span", t.isa, span, err, attention_tolerance(view.type));
  tally.check(name + "_span_vs_alone", t.isa, span, static_cast<double>(vs_alone), kTolExact);
  tally.check(name + "_span_split", t.isa, span + " cut at " + std::to_string(cut),
              static_cast<double>(vs_pieces), kTolExact);
  tally.check(name + "_span_padding", t.isa, span, static_cast<double>(padding), kTolExact);
}

// Attention through a shuffled block table (spare blocks in the pool, a partial last block)
// against the reference; then the same rows moved to blocks 0, 1, 2, ... (identity table) must
// give bitwise the same output: where a block lives does not change the result.
void check_attention(Tally& tally, std::mt19937& rng, const KernelTable& t) {
  struct Case {
    int n_heads, n_kv_heads, head_dim;
    int64_t n_ctx, pad;
    int block_size;
  };
  const Case cases[] = {{4, 4, 64, 1, 0, 16},   {8, 2, 64, 7, 0, 16},     {8, 4, 128, 100, 16, 16},
                        {6, 1, 80, 33, 8, 16},  {32, 8, 128, 513, 0, 16}, {4, 2, 64, 37, 0, 1},
                        {2, 2, 48, 50, 4, 3},   {8, 8, 64, 64, 0, 32},    {4, 1, 128, 17, 0, 16},
                        {4, 2, 64, 37, 32, 3},  {8, 1, 96, 40, 0, 16},    {2, 1, 32, 20, 0, 16},
                        {16, 2, 256, 33, 0, 16}};
  for (const auto& c : cases) {
    const int64_t stride = int64_t{c.n_kv_heads} * c.head_dim + c.pad;
    const int64_t n_used = (c.n_ctx + c.block_size - 1) / c.block_size;
    const int64_t n_pool = n_used + 3;  // spare blocks the table never names
    std::vector<int32_t> pool_ids(static_cast<size_t>(n_pool));
    for (int64_t b = 0; b < n_pool; ++b) pool_ids[b] = static_cast<int32_t>(b);
    std::shuffle(pool_ids.begin(), pool_ids.end(), rng);
    const std::vector<int32_t> table(pool_ids.begin(), pool_ids.begin() + n_used);
    std::vector<int32_t> identity(static_cast<size_t>(n_used));
    for (int64_t b = 0; b < n_used; ++b) identity[b] = static_cast<int32_t>(b);

    const int64_t block_elems = int64_t{c.block_size} * stride;
    PagedKv paged = random_kv(rng, n_pool * block_elems);
    PagedKv moved;  // block table[b] of `paged` copied to block b
    moved.kf = moved_blocks(paged.kf, table, block_elems);
    moved.vf = moved_blocks(paged.vf, table, block_elems);
    moved.kh = moved_blocks(paged.kh, table, block_elems);
    moved.vh = moved_blocks(paged.vh, table, block_elems);
    const bool q8 = q8_shape(c.head_dim, stride);
    const bool bf16 = bf16_shape(c.head_dim, c.block_size);
    if (bf16) {
      fill_bf16(paged, n_pool * c.block_size, c.block_size, stride, c.n_kv_heads, c.head_dim);
      moved.kb = moved_blocks(paged.kb, table, block_elems);
      moved.vb = moved_blocks(paged.vb, table, block_elems);
    }
    if (q8) {
      fill_q8(paged, n_pool * c.block_size, c.block_size, stride, c.n_kv_heads, c.head_dim);
      const int64_t block_bytes = kernels::kv_bytes(DType::kQ8_0, block_elems);
      moved.k8 = moved_blocks(paged.k8, table, block_bytes);
      moved.v8 = moved_blocks(paged.v8, table, block_bytes);
    }

    kernels::AttentionShape s;
    s.n_heads = c.n_heads;
    s.n_kv_heads = c.n_kv_heads;
    s.head_dim = c.head_dim;
    s.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    const auto q = random_floats(rng, int64_t{c.n_heads} * c.head_dim, 2);
    const int64_t n_out = static_cast<int64_t>(q.size());
    const std::string shape = fmt::format("heads={}/{} hd={} ctx={} stride={} bs={}", c.n_heads,
                                          c.n_kv_heads, c.head_dim, c.n_ctx, stride, c.block_size);
    for (DType kv : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0}) {
      if (kv == DType::kQ8_0 && !q8) continue;
      if (kv == DType::kBF16 && !bf16) continue;
      const std::string name = attention_name(kv);
      std::vector<float> want(n_out), got(n_out), contiguous(n_out);
      ref::attention(q.data(), paged.view(kv, table, c.block_size, stride), c.n_ctx, s,
                     want.data());
      t.attention(q.data(), paged.view(kv, table, c.block_size, stride), c.n_ctx, s, got.data());
      tally.check(name, t.isa, shape, max_err(want.data(), got.data(), n_out),
                  attention_tolerance(kv));
      if (kv == DType::kBF16) {
        // The bound above allows a probability one bf16 step off where the softmax's exp
        // rounds differently; every other output keeps the reference's bits (a pair product
        // taken in another order would change most of them).
        int64_t differ = 0;
        for (int64_t i = 0; i < n_out; ++i) differ += bit_mismatches(&want[i], &got[i], 4) != 0;
        tally.check("attention_bf16_bits", t.isa, shape,
                    static_cast<double>(differ) / static_cast<double>(n_out), kTolBf16BitsShare);
      }
      if ((kv == DType::kBF16 || kv == DType::kQ8_0) && t.isa == Isa::kScalar) {
        // The rounded recipes are still attention: against f32 K/V, within the rounding of
        // the queries, keys and values (and for BF16 the probabilities).
        std::vector<float> exact(n_out);
        ref::attention(q.data(), paged.view(DType::kF32, table, c.block_size, stride), c.n_ctx, s,
                       exact.data());
        tally.check(name + "_vs_f32", t.isa, shape, nmse(exact.data(), want.data(), n_out),
                    kv == DType::kBF16 ? kTolAttentionBf16VsF32 : kTolAttentionQ8VsF32);
        // The same rows in the other layout (slot by slot, what a row-major cache would hold):
        // the reference reads them into bitwise the same result.
        PagedKv rows = paged;
        const auto fill = kv == DType::kBF16 ? fill_bf16 : fill_q8;
        fill(rows, n_pool * c.block_size, c.block_size, stride, c.n_kv_heads, c.head_dim,
             kernels::KvLayout::kRows);
        kernels::KvView rows_view = rows.view(kv, table, c.block_size, stride);
        rows_view.layout = kernels::KvLayout::kRows;
        std::vector<float> from_rows(n_out);
        ref::attention(q.data(), rows_view, c.n_ctx, s, from_rows.data());
        tally.check(name + "_rows_layout", t.isa, shape,
                    bit_mismatches(want.data(), from_rows.data(), n_out * 4), kTolExact);
      }
      t.attention(q.data(), moved.view(kv, identity, c.block_size, stride), c.n_ctx, s,
                  contiguous.data());
      tally.check(name + "_paged", t.isa, shape + " shuffled vs identity",
                  bit_mismatches(got.data(), contiguous.data(), n_out * 4), kTolExact);
      check_attention_span(tally, rng, t, paged.view(kv, table, c.block_size, stride), c.n_ctx, s,
                           name, shape);
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
