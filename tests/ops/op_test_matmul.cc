// Checks of matmul for every weight type and ISA against the reference (activations converted
// to the weight's dot partner, then per-block integer or double float dots), and batch
// invariance: a token's output must be bitwise the same alone, inside a batch of 7, and with a
// different number of threads, including the small odd shapes of stories260K (64, 172).
#include <fmt/format.h>

#include <cstring>

#include "kernels/packed_layout.h"
#include "kernels/ref/ref_ops.h"
#include "op_test.h"
#include "tensor/blocks.h"

namespace tenbin::optest {
namespace {

using kernels::Isa;
using kernels::KernelTable;
using kernels::MatrixView;

const DType kWeightTypes[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ4_0, DType::kQ4_1,
                              DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kQ2_K, DType::kQ3_K,
                              DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

// Types whose every kernel follows the reference's order of float operations, so results must
// be bitwise equal to it (Q4_1, Q5_1, Q5_K: reference-output models are sensitive to it).
bool follows_reference_order(DType type) {
  return type == DType::kQ4_1 || type == DType::kQ5_1 || type == DType::kQ2_K ||
         type == DType::kQ3_K || type == DType::kQ5_K;
}

double matmul_tolerance(const KernelTable& t) {
  return t.isa == Isa::kScalar ? kTolExact : kTolMatmul;  // the scalar table is the reference
}

void check_matmul(Tally& tally, std::mt19937& rng, const KernelTable& t, ThreadPool& pool) {
  const int64_t rows_list[] = {1, 3, 17, 64};
  const int64_t cols_list[] = {32, 256, 288, 4096 + 256};
  const int64_t tokens_list[] = {1, 2, 3, 7};
  int k = 0;
  for (DType type : kWeightTypes) {
    for (int64_t rows : rows_list) {
      for (int64_t cols : cols_list) {
        const int64_t nt = tokens_list[k++ % 4];
        if (cols % traits(type).block_elems != 0) continue;
        const auto w = random_weights(rng, type, rows, cols);
        const auto x = random_floats(rng, nt * cols);
        const MatrixView mv{type, w.data(), rows, cols};
        std::vector<float> want(nt * rows), got(nt * rows);
        kernels::ref::matmul(mv, x.data(), nt, want.data(), pool);
        t.matmul(mv, x.data(), nt, got.data(), pool);
        tally.check(fmt::format("matmul_{}", dtype_name(type)), t.isa,
                    fmt::format("rows={} cols={} tokens={}", rows, cols, nt),
                    nmse(want.data(), got.data(), nt * rows), matmul_tolerance(t));
        if (follows_reference_order(type)) {
          tally.check(fmt::format("matmul_bits_{}", dtype_name(type)), t.isa,
                      fmt::format("rows={} cols={} tokens={}", rows, cols, nt),
                      bit_mismatches(want.data(), got.data(), nt * rows * 4), kTolExact);
        }
      }
    }
  }
}

void check_batch_invariance(Tally& tally, std::mt19937& rng, const KernelTable& t,
                            ThreadPool& pool1, ThreadPool& pool3) {
  struct Shape {
    int64_t rows, cols;
  };
  const int64_t nt = 7;
  for (DType type : kWeightTypes) {
    // 288 columns: an odd number of 32-element blocks (the paired-block dots' tail).
    for (Shape sh :
         {Shape{67, 512}, Shape{172, 64}, Shape{64, 172}, Shape{9, 13}, Shape{23, 288}}) {
      if (sh.cols % traits(type).block_elems != 0) continue;
      const auto w = random_weights(rng, type, sh.rows, sh.cols);
      const auto x = random_floats(rng, nt * sh.cols);
      const MatrixView mv{type, w.data(), sh.rows, sh.cols};
      std::vector<float> batch(nt * sh.rows), single(sh.rows);
      t.matmul(mv, x.data(), nt, batch.data(), pool3);
      double mismatches = 0;
      for (int64_t tok = 0; tok < nt; ++tok) {
        t.matmul(mv, x.data() + tok * sh.cols, 1, single.data(), tok % 2 ? pool1 : pool3);
        mismatches += bit_mismatches(single.data(), batch.data() + tok * sh.rows, sh.rows * 4);
      }
      tally.check(fmt::format("batch_invariance_{}", dtype_name(type)), t.isa,
                  fmt::format("rows={} cols={} tokens=1 vs {} threads=1/3", sh.rows, sh.cols, nt),
                  mismatches, kTolExact);
    }
  }
}

// Random Q4_0/Q8_0 weights; Q8_0 gets some -128 quants (legal in files, the edge of the +128
// bias of the packed layout).
std::vector<uint8_t> packable_weights(std::mt19937& rng, DType type, int64_t rows, int64_t cols) {
  auto w = random_weights(rng, type, rows, cols);
  if (type == DType::kQ8_0) {
    for (size_t i = 2; i < w.size(); i += 97) {
      if (i % sizeof(BlockQ8_0) >= 2) w[i] = 0x80;
    }
  }
  return w;
}

// The 16-row packed layout (every type but Q8_1 and Q8_K): unpacking restores every stored
// byte, and each table's matmul over the packed view equals the reference over the stored matrix
// (token counts across the kernels' token tiles), bitwise batch invariant across batch sizes and
// thread counts. Every ISA that packs a type runs the same float steps, so their results must agree
// bitwise (a packed matmul gives the same bits on an AVX2 and an AVX-512 machine).
void check_packed(Tally& tally, std::mt19937& rng, ThreadPool& pool1, ThreadPool& pool3) {
  struct Shape {
    int64_t rows, cols, tokens;
  };
  for (DType type :
       {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kF16,
        DType::kBF16, DType::kQ2_K, DType::kQ3_K, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    for (Shape sh : {Shape{16, 32, 1}, Shape{48, 288, 2}, Shape{256, 4096 + 256, 9},
                     Shape{32, 2048, 17}, Shape{16, 64, 8}, Shape{16, 33, 3}, Shape{32, 512, 5},
                     Shape{16, 256, 4}, Shape{48, 768, 6}, Shape{16, 512, 3}}) {
      if (sh.cols % traits(type).block_elems != 0) continue;
      const auto w = packable_weights(rng, type, sh.rows, sh.cols);
      const MatrixView mv{type, w.data(), sh.rows, sh.cols};
      if (!kernels::packable16(mv)) continue;  // BF16 with an odd column count
      std::vector<uint8_t> packed_bytes(static_cast<size_t>(kernels::packed16_bytes(mv)));
      const MatrixView pv = kernels::pack16(mv, packed_bytes.data());
      const int64_t row = *row_bytes(type, sh.cols);
      std::vector<uint8_t> back(static_cast<size_t>(row));
      double diff = 0;
      for (int64_t r = 0; r < sh.rows; ++r) {
        kernels::unpack16_row(pv, r, back.data());
        diff += std::memcmp(back.data(), w.data() + r * row, back.size()) != 0;
      }
      const std::string shape =
          fmt::format("rows={} cols={} tokens={}", sh.rows, sh.cols, sh.tokens);
      tally.check(fmt::format("pack16_roundtrip_{}", dtype_name(type)), Isa::kScalar, shape, diff,
                  kTolExact);

      const auto x = random_floats(rng, sh.tokens * sh.cols);
      std::vector<float> want(sh.tokens * sh.rows), got(want.size()), single(sh.rows);
      kernels::ref::matmul(mv, x.data(), sh.tokens, want.data(), pool3);
      std::vector<float> first_packing;  // the result of the first ISA that packs `type`
      for (Isa isa : kernels::available_isas()) {
        const KernelTable& t = kernels::kernel_table(isa);
        t.matmul(pv, x.data(), sh.tokens, got.data(), pool3);
        if (t.packs16(type) && first_packing.empty()) {
          first_packing = got;
        } else if (t.packs16(type)) {
          tally.check(fmt::format("packed16_isa_agreement_{}", dtype_name(type)), isa, shape,
                      bit_mismatches(first_packing.data(), got.data(), got.size() * 4), kTolExact);
        }
        tally.check(fmt::format("matmul_packed16_{}", dtype_name(type)), isa, shape,
                    nmse(want.data(), got.data(), want.size()), matmul_tolerance(t));
        if (follows_reference_order(type)) {
          tally.check(fmt::format("matmul_packed16_bits_{}", dtype_name(type)), isa, shape,
                      bit_mismatches(want.data(), got.data(), got.size() * 4), kTolExact);
        }
        double mismatches = 0;
        for (int64_t tok = 0; tok < sh.tokens; ++tok) {
          t.matmul(pv, x.data() + tok * sh.cols, 1, single.data(), tok % 2 ? pool1 : pool3);
          mismatches += bit_mismatches(single.data(), got.data() + tok * sh.rows, sh.rows * 4);
        }
        tally.check(fmt::format("batch_invariance_packed16_{}", dtype_name(type)), isa, shape,
                    mismatches, kTolExact);
      }
    }
  }
}

}  // namespace

void run_matmul_tests(Tally& tally, std::mt19937& rng) {
  ThreadPool pool1(1), pool3(3);
  for (Isa isa : kernels::available_isas()) {
    const KernelTable& t = kernels::kernel_table(isa);
    check_matmul(tally, rng, t, pool3);
    check_batch_invariance(tally, rng, t, pool1, pool3);
  }
  check_packed(tally, rng, pool1, pool3);
}

}  // namespace tenbin::optest
