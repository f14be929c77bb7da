// Backend checks of the KV cache ops: store_kv (F16, F32 and, where the backend takes them,
// BF16 and Q8_0 caches, bytes compared with the
// reference conversion of each row placed as the backend's kv_layout() says, other slots
// untouched) and paged attention over a ragged
// batch (prefills, decode steps and a chunked prefill over a cached prefix; shuffled block
// tables with spare blocks; block sizes 16 and 4; grouped-query ratios 1, 4, 7 and 8; head_dim
// 64, 128 and 192), against the scalar reference run per token over positions 0..pos of its
// sequence, and each token run alone against its bits in the batch.
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "kernels/ref/ref_ops.h"
#include "op_test_backend.h"

namespace tenbin::optest {
namespace {

namespace ref = kernels::ref;
using backend::Buffer;

// Prefill from 0, decode, chunked prefill after a cached prefix, a one-token prompt, a decode
// step far enough in to span many blocks, and a chunk across position 128 (a GPU's segment
// and tile boundary).
const std::vector<SeqSpec> kSeqs = {{0, 5}, {20, 1}, {37, 3}, {0, 1}, {130, 2}, {123, 10}};

// The KV cache types `dev` takes, of F32, F16, BF16 and Q8_0.
std::vector<DType> kv_types(const backend::Backend& dev) {
  std::vector<DType> types;
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0}) {
    if (dev.kv_type_supported(t)) types.push_back(t);
  }
  return types;
}

// One layer's K and V as the backend stores them (in its kv_layout()), mirrored on the host.
struct HostKv {
  DType type = DType::kF16;
  kernels::KvLayout layout = kernels::KvLayout::kRows;
  int64_t row_stride = 0;
  int head_dim = 0;
  int block_size = 16;
  std::vector<uint8_t> k, v;

  size_t elem_bytes() const { return type == DType::kF16 ? 2 : 4; }
  size_t row_bytes() const { return kernels::kv_bytes(type, row_stride); }
  // What store_kv must leave in `slot`: the reference conversion of the rows, element by
  // element where the layout puts them (Q8_0, BF16: the reference store of each head's row).
  void store(int64_t slot, const float* k_row, const float* v_row) {
    if (type == DType::kQ8_0 || type == DType::kBF16) {
      const auto store_head = type == DType::kQ8_0 ? ref::store_kv_q8_0 : ref::store_kv_bf16;
      for (int g = 0; g < row_stride / head_dim; ++g) {
        store_head(k_row + int64_t{g} * head_dim, layout, true, k.data(), slot, block_size,
                   row_stride, head_dim, g);
        store_head(v_row + int64_t{g} * head_dim, layout, false, v.data(), slot, block_size,
                   row_stride, head_dim, g);
      }
      return;
    }
    std::vector<uint8_t> kc(row_bytes()), vc(row_bytes());
    (void)ref::quantize_row(type, k_row, kc.data(), row_stride);
    (void)ref::quantize_row(type, v_row, vc.data(), row_stride);
    const size_t eb = elem_bytes();
    for (int64_t i = 0; i < row_stride; ++i) {
      const int g = static_cast<int>(i / head_dim), d = static_cast<int>(i % head_dim);
      auto at = [&](bool is_key) {
        return eb * kernels::kv_element_index(layout, is_key, slot, block_size, row_stride,
                                              head_dim, g, d);
      };
      std::memcpy(k.data() + at(true), kc.data() + i * eb, eb);
      std::memcpy(v.data() + at(false), vc.data() + i * eb, eb);
    }
  }
  kernels::KvView view(const int32_t* block_table) const {
    kernels::KvView view;
    view.k = k.data();
    view.v = v.data();
    view.block_table = block_table;
    view.block_size = block_size;
    view.row_stride = row_stride;
    view.type = type;
    view.layout = layout;
    return view;
  }
};

// A cache of `n_slots` slots filled with random rows (earlier tokens' K/V, and stale data in
// slots no position of the batch may read), laid out as `dev` lays out its caches.
HostKv random_host_kv(std::mt19937& rng, const backend::Backend& dev, DType type, int64_t n_slots,
                      int64_t row_stride, int head_dim, int block_size) {
  HostKv kv;
  kv.type = type;
  kv.layout = dev.kv_layout();
  kv.row_stride = row_stride;
  kv.head_dim = head_dim;
  kv.block_size = block_size;
  kv.k.resize(n_slots * kv.row_bytes());
  kv.v.resize(n_slots * kv.row_bytes());
  for (int64_t s = 0; s < n_slots; ++s) {
    const auto k = random_floats(rng, row_stride), v = random_floats(rng, row_stride);
    kv.store(s, k.data(), v.data());
  }
  return kv;
}

// The host mirror uploaded to backend memory, and the KvLayer the ops take.
struct DeviceKv {
  Buffer k, v;
  backend::KvLayer layer;
};

DeviceKv upload_kv(backend::Backend& dev, const HostKv& kv) {
  DeviceKv d{to_device(dev, kv.k), to_device(dev, kv.v), {}};
  d.layer.k = d.k.data();
  d.layer.v = d.v.data();
  d.layer.row_stride = kv.row_stride;
  d.layer.head_dim = kv.head_dim;
  d.layer.block_size = kv.block_size;
  d.layer.type = kv.type;
  return d;
}

void check_store_kv(BackendRun& run) {
  struct Case {
    int n_kv_heads, head_dim, block_size;
  };
  for (const Case& c : {Case{1, 64, 16}, Case{4, 128, 4}, Case{8, 64, 16}, Case{2, 128, 4}}) {
    for (DType type : kv_types(run.dev)) {
      const HostBatch batch = ragged_batch(run.rng, kSeqs, c.block_size, 100);
      const int64_t stride = int64_t{c.n_kv_heads} * c.head_dim, nt = batch.n_tokens();
      HostKv kv = random_host_kv(run.rng, run.dev, type, batch.n_blocks * c.block_size, stride,
                                 c.head_dim, c.block_size);
      const DeviceKv dkv = upload_kv(run.dev, kv);
      const auto k = random_floats(run.rng, nt * stride), v = random_floats(run.rng, nt * stride);
      for (int64_t t = 0; t < nt; ++t) {
        kv.store(batch.slots[t], k.data() + t * stride, v.data() + t * stride);
      }
      const Buffer dk = to_device(run.dev, k), dv = to_device(run.dev, v);
      const std::string op = fmt::format("store_kv_{}", dtype_name(type));
      const std::string shape =
          fmt::format("kv_heads={} hd={} bs={} tokens={} slots={}", c.n_kv_heads, c.head_dim,
                      c.block_size, nt, batch.n_blocks * c.block_size);
      if (!begin(run, batch, op, shape)) continue;
      run.dev.store_kv(dkv.layer, dk.as<float>(), dv.as<float>());
      const auto got_k = to_host<uint8_t>(run.dev, dkv.k, kv.k.size());
      const auto got_v = to_host<uint8_t>(run.dev, dkv.v, kv.v.size());
      run.check(op, shape,
                bit_mismatches(kv.k.data(), got_k.data(), kv.k.size()) +
                    bit_mismatches(kv.v.data(), got_v.data(), kv.v.size()),
                kTolExact);
    }
  }
}

// Reference attention of every token of `batch` through its sequence's block table, over
// positions 0..pos (its own chunk's later tokens are already in the cache and must not count).
std::vector<float> reference_attention(const HostBatch& batch, const HostKv& kv,
                                       const std::vector<float>& q,
                                       const kernels::AttentionShape& shape) {
  const int64_t q_row = int64_t{shape.n_heads} * shape.head_dim;
  std::vector<float> out(q.size());
  for (int64_t t = 0; t < batch.n_tokens(); ++t) {
    const int32_t* table = batch.block_tables.data() + batch.seq_ids[t] * batch.table_width;
    ref::attention(q.data() + t * q_row, kv.view(table), batch.positions[t] + 1, shape,
                   out.data() + t * q_row);
  }
  return out;
}

void check_attention(BackendRun& run) {
  struct Case {
    int n_heads, n_kv_heads, head_dim, block_size;
  };
  // Grouped-query ratios 1, 4, 7 and 8; head sizes 64, 128 and 192 (a GPU tiles 8 queries, or
  // 4 past 128 dimensions: two tiles per kv head of 8 query heads).
  const Case cases[] = {{4, 4, 64, 16}, {4, 4, 128, 4},   {8, 2, 128, 4},  {16, 4, 64, 16},
                        {8, 1, 64, 4},  {32, 4, 128, 16}, {14, 2, 64, 16}, {16, 2, 192, 16}};
  for (const Case& c : cases) {
    for (DType type : kv_types(run.dev)) {
      const HostBatch batch = ragged_batch(run.rng, kSeqs, c.block_size, 100);
      const int64_t stride = int64_t{c.n_kv_heads} * c.head_dim, nt = batch.n_tokens();
      const int64_t q_row = int64_t{c.n_heads} * c.head_dim;
      HostKv kv = random_host_kv(run.rng, run.dev, type, batch.n_blocks * c.block_size, stride,
                                 c.head_dim, c.block_size);
      const DeviceKv dkv = upload_kv(run.dev, kv);  // the cached prefixes (and stale slots)
      const auto k = random_floats(run.rng, nt * stride), v = random_floats(run.rng, nt * stride);
      const auto q = random_floats(run.rng, nt * q_row, 2);
      for (int64_t t = 0; t < nt; ++t) {
        kv.store(batch.slots[t], k.data() + t * stride, v.data() + t * stride);
      }
      kernels::AttentionShape shape;
      shape.n_heads = c.n_heads;
      shape.n_kv_heads = c.n_kv_heads;
      shape.head_dim = c.head_dim;
      shape.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
      const auto want = reference_attention(batch, kv, q, shape);

      const Buffer dk = to_device(run.dev, k), dv = to_device(run.dev, v);
      const Buffer dq = to_device(run.dev, q), out = device_output(run.dev, nt * q_row);
      const std::string op = fmt::format("attention_{}", dtype_name(type));
      const std::string desc =
          fmt::format("heads={}/{} hd={} bs={} tokens={} seqs={}", c.n_heads, c.n_kv_heads,
                      c.head_dim, c.block_size, nt, batch.n_seqs);
      if (!begin(run, batch, op, desc)) continue;
      run.dev.store_kv(dkv.layer, dk.as<float>(), dv.as<float>());
      run.dev.attention(dq.as<float>(), dkv.layer, shape, out.as<float>());
      const auto got = read_output(run.dev, out, nt * q_row);
      const double bound = type == DType::kF16    ? run.bounds.attention_f16
                           : type == DType::kBF16 ? run.bounds.attention_bf16
                                                  : run.bounds.attention_f32;
      run.check(op, desc, max_err(want.data(), got.data(), nt * q_row), bound);
      // (Q8_0 kernels follow the reference's f32 operations: the F32 bound holds them.)

      // Batch invariance: each token alone (a decode-like batch of one, the cache as the batch
      // left it) gets the bits it got in the batch, whose prefill runs share K/V reads.
      std::vector<float> alone(static_cast<size_t>(nt * q_row));
      bool began = true;
      for (int64_t t = 0; t < nt && began; ++t) {
        HostBatch one = batch;
        one.tokens = {batch.tokens[t]};
        one.positions = {batch.positions[t]};
        one.seq_ids = {batch.seq_ids[t]};
        one.slots = {batch.slots[t]};
        one.output_rows = {0};
        const Buffer dq1 = to_device(run.dev, q.data() + t * q_row, q_row * sizeof(float));
        const Buffer out1 = device_output(run.dev, q_row);
        began = begin(run, one, op + " alone", desc);
        if (!began) break;
        run.dev.attention(dq1.as<float>(), dkv.layer, shape, out1.as<float>());
        const auto row = read_output(run.dev, out1, q_row);
        std::copy(row.begin(), row.end(), alone.begin() + t * q_row);
      }
      if (began) {
        run.check(op + " alone", desc,
                  bit_mismatches(got.data(), alone.data(), got.size() * sizeof(float)), kTolExact);
      }
    }
  }
}

}  // namespace

void run_backend_attention_tests(BackendRun& run) {
  check_store_kv(run);
  check_attention(run);
}

}  // namespace tenbin::optest
