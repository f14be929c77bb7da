// --perf: throughput of each ISA's kernels on a few large shapes, one JSON line per
// measurement (llm.c style): matmul as weight GB/s for one token and GFLOP/s for a batch,
// elementwise ops as GB/s of their inputs and outputs, sampling's top-k selection in ms per row.
#include <chrono>
#include <functional>

#include <fmt/format.h>

#include "kernels/packed_layout.h"
#include "kernels/token_draw.h"
#include "kernels/token_logprobs.h"
#include "kernels/token_select.h"
#include "op_test.h"
#include "tensor/half.h"

namespace tenbin::optest {
namespace {

using kernels::Isa;
using kernels::KernelTable;

// Best-of-N wall time of fn, in seconds, after one warm-up call. With `before_each`, that runs
// (untimed) before every timed call: an evicting read gives what a kernel costs when its data
// comes from memory, as a KV cache does during decode (the weights streamed since the last step
// have evicted it).
double time_best(const std::function<void()>& fn, int reps,
                 const std::function<void()>& before_each = nullptr) {
  fn();
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    if (before_each) before_each();
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

void emit(const std::string& op, Isa isa, const std::string& shape, int threads, double secs,
          double bytes, double flops) {
  std::printf(
      "{\"op\":\"%s\",\"isa\":\"%s\",\"shape\":\"%s\",\"threads\":%d,\"ms\":%.4f,"
      "\"gb_per_s\":%.2f,\"gflop_per_s\":%.2f}\n",
      op.c_str(), std::string(kernels::isa_name(isa)).c_str(), shape.c_str(), threads, secs * 1e3,
      bytes / secs / 1e9, flops / secs / 1e9);
}

}  // namespace

void run_perf(int n_threads) {
  std::mt19937 rng(7);
  ThreadPool pool(n_threads);
  const int64_t rows = 4096, cols = 4096;
  // Evicts the caches by reading 64 MiB (twice the L3 of the machines we measure on), a line at
  // a time; the volatile sink keeps the reads.
  const std::vector<uint64_t> evicting(size_t{8} << 20, 1);
  volatile uint64_t evict_sink = 0;
  const std::function<void()> evict = [&] {
    uint64_t sum = 0;
    for (size_t i = 0; i < evicting.size(); i += 8) sum += evicting[i];
    evict_sink = sum;
  };
  for (Isa isa : kernels::available_isas()) {
    const KernelTable& t = kernels::kernel_table(isa);
    for (DType type :
         {DType::kF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ6_K, DType::kQ5_K,
          DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ2_K, DType::kQ3_K, DType::kBF16}) {
      const auto w = random_weights(rng, type, rows, cols);
      kernels::MatrixView mv{type, w.data(), rows, cols};
      // The table's packed layout when it has one for this type (what a loaded model uses).
      std::vector<uint8_t> packed_bytes;
      kernels::MatrixView pv;
      if (t.packs16(mv.type) && kernels::packable16(mv)) {
        packed_bytes.resize(static_cast<size_t>(kernels::packed16_bytes(mv)));
        pv = kernels::pack16(mv, packed_bytes.data());
      }
      for (int64_t nt : {int64_t{1}, int64_t{16}, int64_t{64}}) {
        if (isa == Isa::kScalar && nt > 1) continue;  // the reference is slow; one point is enough
        const auto x = random_floats(rng, nt * cols);
        std::vector<float> y(nt * rows);
        for (kernels::MatrixView* view : {&mv, &pv}) {
          if (view->data == nullptr) continue;
          const double s = time_best([&] { t.matmul(*view, x.data(), nt, y.data(), pool); },
                                     isa == Isa::kScalar ? 1 : 5);
          const bool packed = view->layout != kernels::WeightLayout::kRows;
          emit(fmt::format("matmul_{}{}", dtype_name(type), packed ? "_packed16" : ""), isa,
               fmt::format("{}x{} tokens={}", rows, cols, nt), n_threads, s,
               static_cast<double>(w.size()), 2.0 * rows * cols * nt);
        }
      }
    }
    const int64_t n = 1 << 20;
    const auto a = random_floats(rng, n), b = random_floats(rng, n);
    std::vector<float> out(n);
    const std::string shape = fmt::format("n={}", n);
    emit("add", isa, shape, 1, time_best([&] { t.add(a.data(), b.data(), out.data(), n); }, 10),
         12.0 * n, 1.0 * n);
    emit("silu_mul", isa, shape, 1,
         time_best([&] { t.silu_mul(a.data(), b.data(), out.data(), n); }, 10), 12.0 * n, 0);
    emit("rms_norm", isa, shape, 1,
         time_best([&] { t.rms_norm(a.data(), b.data(), out.data(), n, 1e-5f); }, 10), 12.0 * n, 0);
    out = a;
    emit("softmax", isa, shape, 1, time_best([&] { t.softmax(out.data(), n); }, 10), 8.0 * n, 0);

    // Attention over an F16, BF16 or Q8_0 cache of ctx positions (block table reversed), for `span`
    // tokens of one sequence ending at ctx: one decoding token (attention) or a prefill piece
    // (attention_span, the queries sharing K blocks).
    const int64_t ctx = 2048;
    std::vector<int32_t> table(ctx / 16);
    for (size_t b = 0; b < table.size(); ++b) table[b] = static_cast<int32_t>(table.size() - 1 - b);
    auto attention_case = [&](DType type, const kernels::AttentionShape& s, int64_t span,
                              bool cold = false) {
      const int64_t kv_width = int64_t{s.n_kv_heads} * s.head_dim;
      const int64_t width = int64_t{s.n_heads} * s.head_dim;
      // Separate K and V arrays, as in a model (one shared array would read every byte twice
      // from the caches and halve the memory traffic). Every F16 or BF16 value 0.1; every Q8_0
      // byte 0x3C (quants 60, scales 1.06).
      const auto bytes = static_cast<size_t>(kernels::kv_bytes(type, ctx * kv_width));
      std::vector<uint8_t> k(bytes), v(bytes);
      if (type == DType::kF16 || type == DType::kBF16) {
        const uint16_t tenth = type == DType::kF16 ? f32_to_fp16(0.1f) : f32_to_bf16(0.1f);
        for (size_t i = 0; i < bytes; i += 2) std::memcpy(&k[i], &tenth, 2);
      } else {
        std::fill(k.begin(), k.end(), uint8_t{0x3C});
      }
      v = k;
      const kernels::KvView view{
          k.data(), v.data(), table.data(), 16, kv_width, type, kernels::KvLayout::kHeadBlocks};
      const auto q = random_floats(rng, span * width);
      std::vector<float> o(span * width);
      std::string label =
          fmt::format("heads={}/{} hd={} ctx={}", s.n_heads, s.n_kv_heads, s.head_dim, ctx);
      if (span > 1) label += fmt::format(" span={}", span);
      const auto run = [&] {
        if (span == 1) return t.attention(q.data(), view, ctx, s, o.data());
        t.attention_span(q.data(), width, span, view, ctx - span + 1, s, o.data(), width);
      };
      emit(fmt::format("{}_{}{}", span > 1 ? "attention_span" : "attention", dtype_name(type),
                       cold ? "_cold" : ""),
           isa, label, 1, time_best(run, cold ? 5 : 3, cold ? evict : std::function<void()>{}),
           2.0 * static_cast<double>(bytes), 4.0 * static_cast<double>(width) * ctx * span);
    };
    for (DType type : {DType::kF16, DType::kBF16, DType::kQ8_0}) {
      attention_case(type, {32, 8, 128, 0.088f}, 1);
      attention_case(type, {32, 32, 128, 0.088f}, 1);      // multi-head (Llama-2-7B)
      attention_case(type, {32, 4, 64, 0.125f}, 1);        // TinyLlama: 8 query heads per KV head
      attention_case(type, {32, 8, 128, 0.088f}, 8);       // a prefill piece of 8 tokens
      attention_case(type, {32, 4, 64, 0.125f}, 1, true);  // TinyLlama decode, cache from memory
      attention_case(type, {32, 32, 128, 0.088f}, 1, true);
    }
  }

  // Sampling on the host, per row of logits (kernels/token_select.h): greedy, top-k 40, and a
  // full sort. A GPU backend selects and draws on the device instead (Backend::select_top_k);
  // this is what each output row of a step costs where it cannot.
  for (int64_t vocab : {int64_t{32000}, int64_t{128256}}) {
    const std::vector<float> row = random_floats(rng, vocab, 3.0f);
    for (int64_t k : {int64_t{1}, int64_t{40}, vocab}) {
      std::vector<kernels::TokenCandidate> best(static_cast<size_t>(k));
      const double secs =
          time_best([&] { kernels::select_top_k(row.data(), vocab, k, best.data()); }, 5);
      std::printf(
          "{\"op\":\"select_top_k\",\"shape\":\"vocab=%lld k=%lld\",\"threads\":1,"
          "\"ms\":%.4f}\n",
          static_cast<long long>(vocab), static_cast<long long>(k), secs * 1e3);
    }
    // Top-k off: the draw over the row's 256 best and the rest (kernels/token_draw.h), which
    // replaced the full sort.
    kernels::DrawParams draw;
    draw.u = 0.5;
    const double secs =
        time_best([&] { (void)kernels::draw_over_row(row.data(), vocab, draw); }, 5);
    std::printf(
        "{\"op\":\"draw_from_row\",\"shape\":\"vocab=%lld\",\"threads\":1,"
        "\"ms\":%.4f}\n",
        static_cast<long long>(vocab), secs * 1e3);
    // Logprobs (kernels/token_logprobs.h): the normalizer and the 5 best raw tokens.
    kernels::RowLogprobs logprobs;
    const double lp_secs =
        time_best([&] { kernels::row_logprobs(row.data(), vocab, 5, &logprobs); }, 5);
    std::printf(
        "{\"op\":\"row_logprobs\",\"shape\":\"vocab=%lld top=5\",\"threads\":1,"
        "\"ms\":%.4f}\n",
        static_cast<long long>(vocab), lp_secs * 1e3);
  }
}

}  // namespace tenbin::optest
