// Backend checks of the row-wise ops: embed (every table type), rms_norm, add_bias,
// copy_columns, rope (both styles, partial rotation, scaled positions, ragged positions),
// silu_mul (fused gate|up rows and separate arrays), add (aliased output) and
// gather_output_rows, each against the scalar reference on the host.
#include <cstring>

#include <fmt/format.h>

#include "kernels/ref/ref_ops.h"
#include "op_test_backend.h"

namespace tenbin::optest {
namespace {

namespace ref = kernels::ref;
using backend::Buffer;

// Sequences of the ragged batches below: a prefill from 0, a decode step, a chunked prefill
// continuing a cached prefix, and a decode step far into the context.
const std::vector<SeqSpec> kRaggedSeqs = {{0, 5}, {20, 1}, {37, 3}, {4090, 2}};

int64_t embed_cols(DType type) {
  const int64_t block = traits(type).block_elems;
  if (block == 1) return 67;  // odd width
  return block == 32 ? 96 : 512;
}

void check_embed(BackendRun& run) {
  const int32_t vocab = 50;
  for (DType type : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0,
                     DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ2_K, DType::kQ3_K,
                     DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    HostBatch batch = ragged_batch(run.rng, kRaggedSeqs, 16, vocab);
    batch.tokens.front() = 0;  // the first and last rows of the table
    batch.tokens.back() = vocab - 1;
    const int64_t cols = embed_cols(type), nt = batch.n_tokens();
    const int64_t row = *row_bytes(type, cols);
    const auto w = random_weights(run.rng, type, vocab, cols);
    std::vector<float> want(nt * cols);
    for (int64_t t = 0; t < nt; ++t) {
      ref::dequantize_row(type, w.data() + batch.tokens[t] * row, want.data() + t * cols, cols);
    }
    const Buffer table = to_device(run.dev, w);
    const Buffer x = device_output(run.dev, nt * cols);
    const std::string op = fmt::format("embed_{}", dtype_name(type));
    const std::string shape = fmt::format("vocab={} cols={} tokens={}", vocab, cols, nt);
    if (!begin(run, batch, op, shape)) continue;
    run.dev.embed(kernels::MatrixView{type, table.data(), vocab, cols}, x.as<float>());
    const auto got = read_output(run.dev, x, nt * cols);
    run.check(op, shape, max_err(want.data(), got.data(), nt * cols), run.bounds.embed);
  }
}

void check_rms_norm(BackendRun& run) {
  struct Case {
    int64_t rows, n;
    float eps;
  };
  for (const Case& c :
       {Case{1, 7, 1e-5f}, Case{3, 288, 1e-6f}, Case{5, 4096 + 13, 1e-5f}, Case{9, 64, 1e-5f}}) {
    const auto x = random_floats(run.rng, c.rows * c.n), w = random_floats(run.rng, c.n);
    std::vector<float> want(x.size());
    for (int64_t r = 0; r < c.rows; ++r) {
      ref::rms_norm(x.data() + r * c.n, w.data(), want.data() + r * c.n, c.n, c.eps);
    }
    const Buffer dx = to_device(run.dev, x), dw = to_device(run.dev, w);
    const Buffer dy = device_output(run.dev, c.rows * c.n);
    const std::string shape = fmt::format("rows={} n={} eps={}", c.rows, c.n, c.eps);
    if (!begin(run, linear_batch(c.rows), "rms_norm", shape)) continue;
    run.dev.rms_norm(dx.as<float>(), dw.as<float>(), dy.as<float>(), c.rows, c.n, c.eps);
    const auto got = read_output(run.dev, dy, c.rows * c.n);
    run.check("rms_norm", shape, max_err(want.data(), got.data(), got.size()), run.bounds.rms_norm);
  }
}

void check_add_bias(BackendRun& run) {
  struct Case {
    int64_t rows, n;
  };
  for (const Case& c : {Case{1, 7}, Case{4, 96}, Case{9, 4096 + 13}}) {
    auto want = random_floats(run.rng, c.rows * c.n);
    const auto bias = random_floats(run.rng, c.n);
    const Buffer rows = device_output(run.dev, want), db = to_device(run.dev, bias);
    for (int64_t i = 0; i < c.rows * c.n; ++i) want[i] += bias[i % c.n];
    const std::string shape = fmt::format("rows={} n={}", c.rows, c.n);
    if (!begin(run, linear_batch(c.rows), "add_bias", shape)) continue;
    run.dev.add_bias(rows.as<float>(), db.as<float>(), c.rows, c.n);
    const auto got = read_output(run.dev, rows, c.rows * c.n);
    run.check("add_bias", shape, bit_mismatches(want.data(), got.data(), got.size() * 4),
              kTolExact);
  }
}

// Copies a column range between row-strided arrays (as when splitting a fused QKV output); the
// destination's other elements must keep their values.
void check_copy_columns(BackendRun& run) {
  struct Case {
    int64_t rows, cols, src_stride, src_offset, dst_stride, dst_offset;
  };
  for (const Case& c : {Case{5, 32, 192, 128, 32, 0}, Case{3, 64, 64, 0, 96, 32},
                        Case{1, 13, 40, 7, 13, 0}, Case{9, 100, 300, 100, 100, 0}}) {
    const auto src = random_floats(run.rng, c.rows * c.src_stride);
    auto want = random_floats(run.rng, c.rows * c.dst_stride);
    const Buffer ds = to_device(run.dev, src), dd = device_output(run.dev, want);
    for (int64_t r = 0; r < c.rows; ++r) {
      std::memcpy(want.data() + r * c.dst_stride + c.dst_offset,
                  src.data() + r * c.src_stride + c.src_offset, c.cols * 4);
    }
    const std::string shape = fmt::format("rows={} cols={} src={}+{} dst={}+{}", c.rows, c.cols,
                                          c.src_stride, c.src_offset, c.dst_stride, c.dst_offset);
    if (!begin(run, linear_batch(c.rows), "copy_columns", shape)) continue;
    run.dev.copy_columns(ds.as<float>() + c.src_offset, c.src_stride, dd.as<float>() + c.dst_offset,
                         c.dst_stride, c.rows, c.cols);
    const auto got = read_output(run.dev, dd, c.rows * c.dst_stride);
    run.check("copy_columns", shape, bit_mismatches(want.data(), got.data(), got.size() * 4),
              kTolExact);
  }
}

// RoPE over a ragged batch: each token rotated at its own position (from begin_forward).
void check_rope(BackendRun& run) {
  struct Case {
    int n_heads, head_dim, rot_dim;
    float base, scale;
  };
  const Case cases[] = {{4, 64, 64, 10000, 1},
                        {8, 128, 128, 10000, 1},
                        {3, 64, 32, 1e6f, 1},
                        {2, 80, 24, 10000, 0.25f},
                        {4, 128, 64, 5e5f, 0.5f}};
  for (const Case& c : cases) {
    for (auto style : {kernels::RopeStyle::kNormal, kernels::RopeStyle::kNeox}) {
      const HostBatch batch = ragged_batch(run.rng, kRaggedSeqs, 16, 100);
      const int64_t row = int64_t{c.n_heads} * c.head_dim, nt = batch.n_tokens();
      const kernels::RopeParams p{style, c.rot_dim, c.base, c.scale};
      auto want = random_floats(run.rng, nt * row);
      const Buffer x = device_output(run.dev, want);
      for (int64_t t = 0; t < nt; ++t) {
        ref::rope(want.data() + t * row, c.n_heads, c.head_dim, batch.positions[t], p);
      }
      const std::string op = style == kernels::RopeStyle::kNormal ? "rope_normal" : "rope_neox";
      const std::string shape = fmt::format("heads={} hd={} rot={} base={} scale={} tokens={}",
                                            c.n_heads, c.head_dim, c.rot_dim, c.base, c.scale, nt);
      if (!begin(run, batch, op, shape)) continue;
      run.dev.rope(x.as<float>(), c.n_heads, c.head_dim, p);
      const auto got = read_output(run.dev, x, nt * row);
      run.check(op, shape, max_err(want.data(), got.data(), nt * row), run.bounds.rope);
    }
  }
}

// silu_mul reading gate and up rows `in_stride` apart: the halves of a fused gate|up matmul
// output (in_stride = 2n), or two separate arrays (in_stride = n).
void check_silu_mul(BackendRun& run) {
  struct Case {
    int64_t rows, n;
    bool fused;
  };
  for (const Case& c : {Case{1, 172, true}, Case{5, 64, true}, Case{3, 13, false},
                        Case{4, 1000, true}, Case{9, 256, false}}) {
    const int64_t stride = c.fused ? 2 * c.n : c.n;
    const auto gate_up = random_floats(run.rng, c.rows * stride, 4);
    const auto up_only = random_floats(run.rng, c.rows * c.n);
    const float* up_host = c.fused ? gate_up.data() + c.n : up_only.data();
    std::vector<float> want(c.rows * c.n);
    for (int64_t r = 0; r < c.rows; ++r) {
      ref::silu_mul(gate_up.data() + r * stride, up_host + r * stride, want.data() + r * c.n, c.n);
    }
    const Buffer dg = to_device(run.dev, gate_up), du = to_device(run.dev, up_only);
    const Buffer out = device_output(run.dev, c.rows * c.n);
    const float* up_dev = c.fused ? dg.as<float>() + c.n : du.as<float>();
    const std::string shape =
        fmt::format("rows={} n={} in_stride={}{}", c.rows, c.n, stride, c.fused ? " gate|up" : "");
    if (!begin(run, linear_batch(c.rows), "silu_mul", shape)) continue;
    run.dev.silu_mul(dg.as<float>(), up_dev, stride, out.as<float>(), c.rows, c.n);
    const auto got = read_output(run.dev, out, c.rows * c.n);
    run.check("silu_mul", shape, max_err(want.data(), got.data(), got.size()), run.bounds.silu_mul);
  }
}

// add into a separate output, into a (out aliases a) and into b (out aliases b).
void check_add(BackendRun& run) {
  for (int64_t n : {int64_t{1}, int64_t{13}, int64_t{4096 + 13}}) {
    const auto a = random_floats(run.rng, n), b = random_floats(run.rng, n);
    std::vector<float> want(n);
    ref::add(a.data(), b.data(), want.data(), n);
    for (int alias = 0; alias < 3; ++alias) {
      const Buffer da = device_output(run.dev, a), db = device_output(run.dev, b);
      const Buffer separate = device_output(run.dev, n);
      const Buffer& out = alias == 0 ? separate : alias == 1 ? da : db;
      const char* what[] = {"out", "out=a", "out=b"};
      const std::string shape = fmt::format("n={} {}", n, what[alias]);
      if (!begin(run, linear_batch(1), "add", shape)) continue;
      run.dev.add(da.as<float>(), db.as<float>(), out.as<float>(), n);
      const auto got = read_output(run.dev, out, n);
      run.check("add", shape, bit_mismatches(want.data(), got.data(), n * 4), kTolExact);
    }
  }
}

// The rows of the batch's output tokens: the last token of each ragged sequence, and a
// hand-picked subset of a linear batch.
void check_gather_output_rows(BackendRun& run) {
  HostBatch picked = linear_batch(9);
  picked.output_rows = {0, 2, 3, 8};
  const HostBatch batches[] = {ragged_batch(run.rng, kRaggedSeqs, 16, 100), picked,
                               linear_batch(5)};
  for (const HostBatch& batch : batches) {
    for (int64_t n : {int64_t{64}, int64_t{13}}) {
      const int64_t nt = batch.n_tokens(), no = static_cast<int64_t>(batch.output_rows.size());
      const auto src = random_floats(run.rng, nt * n);
      std::vector<float> want(no * n);
      for (int64_t i = 0; i < no; ++i) {
        std::memcpy(want.data() + i * n, src.data() + batch.output_rows[i] * n, n * 4);
      }
      const Buffer ds = to_device(run.dev, src), dd = device_output(run.dev, no * n);
      const std::string shape = fmt::format("tokens={} outputs={} n={}", nt, no, n);
      if (!begin(run, batch, "gather_output_rows", shape)) continue;
      run.dev.gather_output_rows(ds.as<float>(), n, dd.as<float>());
      const auto got = read_output(run.dev, dd, no * n);
      run.check("gather_output_rows", shape,
                bit_mismatches(want.data(), got.data(), got.size() * 4), kTolExact);
    }
  }
}

}  // namespace

void run_backend_elementwise_tests(BackendRun& run) {
  check_embed(run);
  check_rms_norm(run);
  check_add_bias(run);
  check_copy_columns(run);
  check_rope(run);
  check_silu_mul(run);
  check_add(run);
  check_gather_output_rows(run);
}

}  // namespace tenbin::optest
