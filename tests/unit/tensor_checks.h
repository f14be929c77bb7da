// Shared helpers for tests that compare weights: a GGUF tensor dequantized to f32 row by row,
// and the relative RMS difference of two float vectors. Header-only; include it as
// "unit/tensor_checks.h".
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/ops.h"
#include "model/gguf/gguf_file.h"
#include "tensor/dtype.h"

namespace tenbin::test {

inline std::vector<float> dequantized(const GgufTensor& t) {
  std::vector<float> out(static_cast<size_t>(t.n_elements));
  const int64_t row = *row_bytes(t.type, t.cols());
  for (int64_t r = 0; r < t.rows(); ++r) {
    kernels::dequantize_row(t.type, t.data + r * row, out.data() + r * t.cols(), t.cols());
  }
  return out;
}

// ||got - ref|| / ||ref||, accumulated in double.
inline double relative_rms(const std::vector<float>& ref, const std::vector<float>& got) {
  double err = 0, norm = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    err += (double{ref[i]} - got[i]) * (double{ref[i]} - got[i]);
    norm += double{ref[i]} * ref[i];
  }
  return std::sqrt(err / norm);
}

}  // namespace tenbin::test
