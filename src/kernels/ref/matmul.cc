// Reference matmul: each token's activations are converted once to the weight type's dot
// partner (ops.h), then one reference vec_dot per (row, token).
#include <vector>

#include "kernels/packed_layout.h"
#include "kernels/ref/ref_ops.h"

namespace tenbin::kernels::ref {

void matmul(const MatrixView& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool) {
  const DType act_type = dot_partner(w.type);
  const VecDotFn dot = vec_dot_for(w.type);
  const int64_t w_row = *row_bytes(w.type, w.cols);
  const int64_t a_row = *row_bytes(act_type, w.cols);
  const auto* base = static_cast<const uint8_t*>(w.data);

  std::vector<uint8_t> act(static_cast<size_t>(a_row * n_tokens));
  for (int64_t t = 0; t < n_tokens; ++t) {
    quantize_act_for(act_type)(x + t * w.cols, act.data() + t * a_row, w.cols);
  }
  // Rows are independent, so splitting them over threads cannot change any result.
  pool.parallel_for(
      w.rows,
      [&](int64_t begin, int64_t end, int) {
        std::vector<uint8_t> unpacked;
        if (w.layout != WeightLayout::kRows) unpacked.resize(static_cast<size_t>(w_row));
        for (int64_t r = begin; r < end; ++r) {
          const uint8_t* row = base + r * w_row;
          if (w.layout != WeightLayout::kRows) {
            unpack16_row(w, r, unpacked.data());
            row = unpacked.data();
          }
          for (int64_t t = 0; t < n_tokens; ++t) {
            y[t * w.rows + r] = dot(w.cols, row, act.data() + t * a_row);
          }
        }
      },
      4);
}

}  // namespace tenbin::kernels::ref
