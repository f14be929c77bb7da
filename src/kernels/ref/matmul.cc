// Reference matmul: dequantize a weight row to f32, then one double-precision dot per token.
#include <vector>

#include "kernels/ref/ref_ops.h"

namespace tenbin::kernels::ref {

void matmul(const MatrixView& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool) {
  const int64_t row_size = *row_bytes(w.type, w.cols);
  const auto* base = static_cast<const uint8_t*>(w.data);
  // Rows are independent, so splitting them over threads cannot change any result.
  pool.parallel_for(
      w.rows,
      [&](int64_t begin, int64_t end, int) {
        std::vector<float> row(static_cast<size_t>(w.cols));
        for (int64_t r = begin; r < end; ++r) {
          dequantize_row(w.type, base + r * row_size, row.data(), w.cols);
          for (int64_t t = 0; t < n_tokens; ++t) {
            const float* xt = x + t * w.cols;
            double acc = 0;
            for (int64_t c = 0; c < w.cols; ++c) acc += static_cast<double>(row[c]) * xt[c];
            y[t * w.rows + r] = static_cast<float>(acc);
          }
        }
      },
      4);
}

}  // namespace tenbin::kernels::ref
