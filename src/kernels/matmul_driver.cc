// The ISA-independent matmul loop shared by the SIMD tables: activations are quantized once per
// token, then each thread walks a chunk of weight rows, reusing each row (hot in cache) for
// every token. Every output is one vec_dot call on its own row and token: batch invariant.
#include <algorithm>

#include "kernels/kernel_table.h"
#include "kernels/packed_layout.h"
#include "kernels/scratch.h"

namespace tenbin::kernels {

void matmul_with_table(const KernelTable& table, const MatrixView& w, const float* x,
                       int64_t n_tokens, float* y, ThreadPool& pool) {
  const TypeKernels& tk = table.of(w.type);
  const int64_t w_row = *row_bytes(w.type, w.cols);
  const int64_t a_row = *row_bytes(tk.act_type, w.cols);
  const auto* wbase = static_cast<const uint8_t*>(w.data);

  const uint8_t* act = reinterpret_cast<const uint8_t*>(x);
  if (tk.act_type != DType::kF32) {
    uint8_t* act_buf =
        thread_scratch<uint8_t, struct ActTag>(static_cast<size_t>(a_row * n_tokens));
    const QuantizeActFn quantize = table.quantize_act[static_cast<size_t>(tk.act_type)];
    pool.parallel_for(n_tokens, [&](int64_t begin, int64_t end, int) {
      for (int64_t t = begin; t < end; ++t) {
        quantize(x + t * w.cols, act_buf + t * a_row, w.cols);
      }
    });
    act = act_buf;
  }

  constexpr int64_t kRowTile = 8;  // rows per inner pass; their bytes stay in L1/L2
  const int64_t grain = kRowTile;
  const bool packed = w.layout != WeightLayout::kRows;
  pool.parallel_for(
      w.rows,
      [&](int64_t begin, int64_t end, int) {
        uint8_t* rows_buf =
            packed ? thread_scratch<uint8_t, struct RowsTag>(static_cast<size_t>(kRowTile * w_row))
                   : nullptr;
        for (int64_t r0 = begin; r0 < end; r0 += kRowTile) {
          const int64_t r1 = std::min(end, r0 + kRowTile);
          const uint8_t* tile = wbase + r0 * w_row;
          if (packed) {
            for (int64_t r = r0; r < r1; ++r) {
              unpack16_row(w, r, rows_buf + (r - r0) * w_row);
            }
            tile = rows_buf;
          }
          int64_t t = 0;
          if (tk.vec_dot_x4 != nullptr) {  // four tokens per pass over each weight row
            for (; t + 4 <= n_tokens; t += 4) {
              for (int64_t r = r0; r < r1; ++r) {
                float out[4];
                tk.vec_dot_x4(w.cols, tile + (r - r0) * w_row, act + t * a_row, a_row, out);
                for (int i = 0; i < 4; ++i) y[(t + i) * w.rows + r] = out[i];
              }
            }
          }
          for (; t < n_tokens; ++t) {
            const uint8_t* at = act + t * a_row;
            float* yt = y + t * w.rows;
            for (int64_t r = r0; r < r1; ++r) {
              yt[r] = tk.vec_dot(w.cols, tile + (r - r0) * w_row, at);
            }
          }
        }
      },
      grain);
}

}  // namespace tenbin::kernels
