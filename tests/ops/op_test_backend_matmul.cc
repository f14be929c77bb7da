// Backend checks of matmul: every GGUF weight format (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0,
// Q5_1, Q2_K..Q6_K) made resident with make_resident and with make_resident_stacked (each part's
// view and the stacked whole), for 1 to 64 rows (decode sizes and GEMM sizes, output rows a
// multiple of 16 and not, odd widths where the format allows), against the scalar reference; and
// batch invariance: each row's result bitwise the same as when the row is multiplied alone.
#include <cmath>
#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "kernels/ref/ref_ops.h"
#include "op_test_backend.h"

namespace tenbin::optest {
namespace {

using backend::Buffer;
using kernels::MatrixView;

const DType kTypes[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ8_0, DType::kQ4_0,
                        DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ2_K, DType::kQ3_K,
                        DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};
const int64_t kRowCounts[] = {1, 2, 3, 7, 8, 9, 16, 33, 64};
constexpr int64_t kMaxRowCount = 64;

struct Shape {
  int64_t rows, cols;
};

// Output rows a multiple of 16 (what the packed layouts take) and not; odd widths for the
// plain float formats.
std::vector<Shape> shapes_for(DType type) {
  const int64_t block = traits(type).block_elems;
  if (block == 1) return {{48, 256}, {37, 67}};
  if (block == 32) return {{48, 512}, {37, 96}};
  return {{48, 512}, {37, 256}};
}

std::string layout_note(const MatrixView& view) {
  return view.layout == kernels::WeightLayout::kPacked16 ? " packed16" : "";
}

// W x through the backend for the first n_rows rows of x ([n_rows, w.cols]): [n_rows, w.rows],
// or nullopt (after a FAIL line) when begin_forward refuses the batch.
std::optional<std::vector<float>> backend_matmul(BackendRun& run, const MatrixView& w,
                                                 const float* x, int64_t n_rows,
                                                 const std::string& op, const std::string& shape) {
  const Buffer dx = to_device(run.dev, x, n_rows * w.cols * sizeof(float));
  const Buffer dy = device_output(run.dev, n_rows * w.rows);
  if (!begin(run, linear_batch(n_rows), op, shape)) return std::nullopt;
  run.dev.matmul(w, dx.as<float>(), n_rows, dy.as<float>());
  return read_output(run.dev, dy, n_rows * w.rows);
}

// The reference for kMaxRowCount rows of x; its first n rows are the reference for n rows
// (the reference converts each row on its own).
std::vector<float> reference(BackendRun& run, const MatrixView& host, const std::vector<float>& x,
                             int64_t n_rows) {
  std::vector<float> want(n_rows * host.rows);
  kernels::ref::matmul(host, x.data(), n_rows, want.data(), run.pool);
  return want;
}

// Each row of x multiplied alone: the results a batch must reproduce bit for bit.
std::vector<float> single_rows(BackendRun& run, const MatrixView& w, const std::vector<float>& x,
                               int64_t n_rows, const std::string& op) {
  std::vector<float> out(n_rows * w.rows);
  for (int64_t r = 0; r < n_rows; ++r) {
    const auto y = backend_matmul(run, w, x.data() + r * w.cols, 1, op, "single row");
    if (y) std::memcpy(out.data() + r * w.rows, y->data(), w.rows * sizeof(float));
  }
  return out;
}

void check_resident(BackendRun& run, DType type, Shape sh) {
  const std::string op = fmt::format("matmul_{}", dtype_name(type));
  const auto w = random_weights(run.rng, type, sh.rows, sh.cols);
  const MatrixView host{type, w.data(), sh.rows, sh.cols};
  auto resident = run.dev.make_resident(host);
  if (!resident.ok()) {
    run.check(op,
              fmt::format("rows={} cols={} make_resident: {}", sh.rows, sh.cols,
                          resident.status().message()),
              INFINITY, 0);
    return;
  }
  const MatrixView& view = resident->view;
  const auto x = random_floats(run.rng, kMaxRowCount * sh.cols);
  const auto want = reference(run, host, x, kMaxRowCount);
  const auto singles = single_rows(run, view, x, kMaxRowCount, op);
  for (int64_t n : kRowCounts) {
    const std::string shape =
        fmt::format("rows={} cols={} n_rows={}{}", sh.rows, sh.cols, n, layout_note(view));
    const auto got = backend_matmul(run, view, x.data(), n, op, shape);
    if (!got) continue;
    run.check(op, shape, nmse(want.data(), got->data(), n * sh.rows), run.bounds.matmul(type, n));
    if (n > 1 && run.bounds.batch_invariant(n)) {
      run.check(fmt::format("batch_invariance_{}", dtype_name(type)), shape + " vs 1",
                bit_mismatches(singles.data(), got->data(), n * sh.rows * 4), kTolExact);
    }
  }
}

// A larger matrix (many row tiles, long dots) at decode and GEMM sizes.
void check_large(BackendRun& run, DType type) {
  const Shape sh{256, 4096};
  const std::string op = fmt::format("matmul_{}", dtype_name(type));
  const auto w = random_weights(run.rng, type, sh.rows, sh.cols);
  const MatrixView host{type, w.data(), sh.rows, sh.cols};
  auto resident = run.dev.make_resident(host);
  if (!resident.ok()) {
    run.check(op, "rows=256 cols=4096 make_resident: " + resident.status().message(), INFINITY, 0);
    return;
  }
  const auto x = random_floats(run.rng, kMaxRowCount * sh.cols);
  const auto want = reference(run, host, x, kMaxRowCount);
  for (int64_t n : {int64_t{1}, int64_t{9}, kMaxRowCount}) {
    const std::string shape = fmt::format("rows={} cols={} n_rows={}{}", sh.rows, sh.cols, n,
                                          layout_note(resident->view));
    const auto got = backend_matmul(run, resident->view, x.data(), n, op, shape);
    if (got) {
      run.check(op, shape, nmse(want.data(), got->data(), n * sh.rows), run.bounds.matmul(type, n));
    }
  }
}

// Weights of several parts (same type and width) stacked by make_resident_stacked, or, when
// the backend declines (nullopt), made resident one by one as the model then does.
struct StackedParts {
  std::vector<std::vector<uint8_t>> bytes;  // host bytes of each part
  std::vector<MatrixView> host;
  std::optional<backend::ResidentMatrix> stacked;
  std::vector<backend::ResidentMatrix> separate;
  std::vector<MatrixView> views;  // each part's resident view
};

// Returns false (after a FAIL line) when the backend cannot make the parts resident.
bool make_parts(BackendRun& run, DType type, const std::vector<int64_t>& rows, int64_t cols,
                StackedParts& parts, const std::string& op) {
  for (int64_t r : rows) {
    parts.bytes.push_back(random_weights(run.rng, type, r, cols));
    parts.host.push_back(MatrixView{type, parts.bytes.back().data(), r, cols});
  }
  parts.stacked = run.dev.make_resident_stacked(parts.host, &parts.views);
  if (parts.stacked) {
    const double missing = std::abs(static_cast<double>(parts.views.size()) - rows.size());
    run.check(op, fmt::format("part_views: {} of {}", parts.views.size(), rows.size()), missing,
              kTolExact);
    return missing == 0;
  }
  parts.views.clear();
  for (const MatrixView& h : parts.host) {
    auto r = run.dev.make_resident(h);
    if (!r.ok()) {
      run.check(op, "make_resident: " + r.status().message(), INFINITY, 0);
      return false;
    }
    parts.views.push_back(r->view);
    parts.separate.push_back(std::move(*r));
  }
  return true;
}

void check_stacked(BackendRun& run, DType type, const std::vector<int64_t>& rows, int64_t cols) {
  const std::string op = fmt::format("matmul_stacked_{}", dtype_name(type));
  StackedParts parts;
  if (!make_parts(run, type, rows, cols, parts, op)) return;
  const auto x = random_floats(run.rng, kMaxRowCount * cols);
  const char* how = parts.stacked ? "stacked" : "not stacked";
  int64_t total_rows = 0;
  std::vector<uint8_t> all_bytes;  // the stacked matrix as the reference reads it (kRows)
  for (size_t i = 0; i < rows.size(); ++i) {
    total_rows += rows[i];
    all_bytes.insert(all_bytes.end(), parts.bytes[i].begin(), parts.bytes[i].end());
  }
  for (int64_t n : {int64_t{1}, int64_t{8}, int64_t{33}}) {
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto want = reference(run, parts.host[i], x, n);
      const std::string shape =
          fmt::format("part {}/{} rows={} cols={} n_rows={} {}{}", i + 1, rows.size(), rows[i],
                      cols, n, how, layout_note(parts.views[i]));
      const auto got = backend_matmul(run, parts.views[i], x.data(), n, op, shape);
      if (got) {
        run.check(op, shape, nmse(want.data(), got->data(), want.size()),
                  run.bounds.matmul(type, n));
      }
    }
    if (!parts.stacked) continue;
    const MatrixView all_host{type, all_bytes.data(), total_rows, cols};
    const auto want = reference(run, all_host, x, n);
    const std::string shape = fmt::format("whole rows={} cols={} n_rows={}{}", total_rows, cols, n,
                                          layout_note(parts.stacked->view));
    const auto got = backend_matmul(run, parts.stacked->view, x.data(), n, op, shape);
    if (got) {
      run.check(op, shape, nmse(want.data(), got->data(), want.size()), run.bounds.matmul(type, n));
    }
  }
}

}  // namespace

void run_backend_matmul_tests(BackendRun& run) {
  for (DType type : kTypes) {
    const auto shapes = shapes_for(type);
    for (Shape sh : shapes) check_resident(run, type, sh);
    check_large(run, type);
    check_stacked(run, type, {32, 16, 48}, shapes[0].cols);  // every part a multiple of 16
    check_stacked(run, type, {33, 7}, shapes[1].cols);       // parts of odd row counts
  }
}

}  // namespace tenbin::optest
