// Backend op checks of the op-test binary (tenbin_op_test --backend cpu|cuda[:N]): every op of
// backend::Backend run through the interface (allocate, upload, begin_forward, op, download) on
// random shapes and ragged batches, compared with the scalar reference (kernels/ref) computed on
// the host. The same checks prove themselves on the CPU backend and verify CUDA on a GPU.
//
// Tolerances (result of the backend vs the scalar reference; err <= bound passes). The cpu
// column is what the CPU backend's kernels meet (the ISA bounds of op_test.h); the cuda column
// allows the differences of the GPU recipe documented in src/cuda/launch.h. A host-side
// emulation of the prefill GEMM (weights and activations rounded to f16, f32 sums) on random
// data gave the numbers quoted as "measured".
//   op                      metric              cpu     cuda    why (cuda)
//   embed                   normalized max err  0       1e-6    dequantization may contract
//                                                               d*sc*q - dmin*m into an fma
//   rms_norm                normalized max err  1e-5    1e-5    same recipe (squares summed in
//                                                               double), another sum order
//   matmul, n_rows <= 8     NMSE                1e-9    1e-6    decode path, same recipe
//     (batch_invariant_rows)                                    (activations in the dot partner
//                                                               format) but f32 sums in another
//                                                               order, and a q8 scale computed
//                                                               on the GPU may flip a rare
//                                                               rounding tie by one quant step
//   matmul, n_rows > 8      NMSE                1e-9    per type below
//     F32                                               1e-6    cuBLAS GEMM: f16 rounding of
//                                                               both operands (measured 8e-8)
//     F16                                               1e-6    same f16 inputs, summation
//                                                               order only (measured 1e-12)
//     BF16                                              2e-5    reference's bf16 activations
//                                                               (2^-8)^2/3 (measured 2.8e-6)
//     block formats                                     1e-6    the decode kernels, 8 rows at a
//                                                               time: as n_rows <= 8
//     (TENBIN_CUDA_QUANT_GEMM=f16)                      1e-4    weights dequantized to f16,
//                                                       2e-4    f16 activations: the reference's
//                                                               Q8_0 (32-element formats) or
//                                                               Q8_K steps (measured 3e-5, 5e-5)
//   matmul batch invariance differing bytes     0       0       cpu: every n_rows; cuda: only
//                                                               2 <= n_rows <= 8 (the GEMM path
//                                                               is not batch invariant)
//   matmul_stacked          as matmul                           each part's view and the whole
//   add_bias, add,          differing bytes     0       0       one IEEE f32 add or a copy per
//     copy_columns, gather                                      element
//   rope                    normalized max err  1e-5    1e-4    same angles (the plugin takes
//                                                               powf(base, -2/rot_dim) from the
//                                                               host); device sinf/cosf (2 ulp
//                                                               after range reduction of angles
//                                                               up to ~4e3 rad) and an fma in
//                                                               the rotation
//   store_kv (f16, f32)     differing bytes     0       0       f32 -> f16 round to nearest even
//   attention f32 cache     normalized max err  1e-5    1e-4    exp and sums in another order
//   attention f16 cache     normalized max err  2e-3    2e-3    the same recipe (probabilities
//                                                               rounded to f16 after
//                                                               normalization); f32 sums in
//                                                               another order and CUDA's expf
//                                                               move a probability across an
//                                                               f16 rounding step (emulator:
//                                                               at most 1e-4)
//   silu_mul                normalized max err  1e-5    1e-5    expf within a few ulp
//   select_top_k            differing bytes     0       0       the same edits (IEEE _rn
//                                                               operations) and one total order
//   raw_logprobs            differing bytes     0       0       one total order; raw copies
//     log_z                 relative err        0       1e-6    double sums in another order,
//                                                               then rounded to f32
// Bounds are chosen by Backend::host_memory(): the CPU backend runs the kernels of kernels/ops.h;
// any device backend gets the cuda column.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "op_test.h"
#include "util/thread_pool.h"

namespace tenbin::optest {

// The bounds one backend is held to (see the table above).
struct BackendBounds {
  bool host = true;  // CPU backend: the ISA bounds
  double embed = 0;
  double rms_norm = 1e-5;
  double rope = 1e-5;
  double attention_f32 = 1e-5;
  double attention_f16 = 2e-3;
  double attention_bf16 = 1.6e-2;  // a probability one bf16 step off (op_test.h)
  double silu_mul = 1e-5;
  // Matmul calls with at most this many rows take a device backend's decode (mat-vec) path,
  // which follows the CPU recipe and is batch invariant; larger ones may take a GEMM path
  // (Backend::batch_invariant_rows).
  int64_t invariant_rows = INT64_MAX;
  // The CUDA backend runs block-quantized batches above invariant_rows through f16 GEMMs
  // (TENBIN_CUDA_QUANT_GEMM set) instead of its decode kernels.
  bool quantized_gemm = false;
  // NMSE bound of a matmul of `n_rows` rows with `type` weights.
  double matmul(DType type, int64_t n_rows) const;
  // Whether matmul results of n_rows rows must equal, bit for bit, those of single rows.
  bool batch_invariant(int64_t n_rows) const { return n_rows <= invariant_rows; }
};
BackendBounds bounds_for(const backend::Backend& dev);

// What every backend check needs: the backend, the host thread pool begin_forward takes, the
// random source, and the tally its PASS/FAIL lines go to (variant column: the backend's name).
struct BackendRun {
  backend::Backend& dev;
  ThreadPool& pool;
  std::mt19937& rng;
  Tally& tally;
  BackendBounds bounds;
  std::string name;

  void check(const std::string& op, const std::string& shape, double err, double tol);
};

// A ragged batch in host arrays that BatchDesc points into.
struct HostBatch {
  std::vector<int32_t> tokens, positions, seq_ids, slots, block_tables, output_rows;
  int64_t n_seqs = 0;
  int64_t table_width = 0;
  int block_size = 16;
  int64_t n_blocks = 0;  // blocks of the pool the tables draw from (spares included)
  int64_t n_tokens() const { return static_cast<int64_t>(tokens.size()); }
  backend::BatchDesc desc() const;
};

// One sequence of a ragged batch: `past` positions already in the cache, `n_new` in the batch.
struct SeqSpec {
  int64_t past = 0;
  int64_t n_new = 1;
};

// Sequences' tokens (ids < vocab) one sequence after another, in an order other than their
// seq ids; block tables drawn from a shuffled pool with spare blocks, so no table is contiguous
// or in order. Outputs: the last token of each sequence.
HostBatch ragged_batch(std::mt19937& rng, const std::vector<SeqSpec>& seqs, int block_size,
                       int32_t vocab);
// One sequence at positions 0..n_tokens-1 in blocks 0, 1, ...; every token an output.
HostBatch linear_batch(int64_t n_tokens);

// Backend memory holding `bytes` of host data (allocate + upload); exits on allocation failure.
backend::Buffer to_device(backend::Backend& dev, const void* host, size_t bytes);
template <class T>
backend::Buffer to_device(backend::Backend& dev, const std::vector<T>& host) {
  return to_device(dev, host.data(), host.size() * sizeof(T));
}
// Zero-filled backend memory; exits on allocation failure.
backend::Buffer device_zeros(backend::Backend& dev, size_t bytes);
template <class T>
std::vector<T> to_host(backend::Backend& dev, const backend::Buffer& buf, size_t n) {
  std::vector<T> out(n);
  dev.download(out.data(), buf.data(), n * sizeof(T));
  return out;
}

// An op's output (or in-place operand): `values` (or n zeros) followed by a guard of sentinel
// floats the op must not write, so a kernel writing past the end of its rows is caught.
backend::Buffer device_output(backend::Backend& dev, int64_t n);
backend::Buffer device_output(backend::Backend& dev, const std::vector<float>& values);
// The first n floats of a device_output buffer; all NaN (so every metric fails) when the op
// wrote into the guard.
std::vector<float> read_output(backend::Backend& dev, const backend::Buffer& buf, int64_t n);

// begin_forward with `batch`; on failure records a FAIL line for `op` and returns false.
bool begin(BackendRun& run, const HostBatch& batch, const std::string& op,
           const std::string& shape);

// Rows of logits for the sampling checks: random, a few levels only (long runs of ties), with
// signed zeros, a NaN and infinities, or flat.
enum class LogitRowKind { kNormal, kCoarse, kSpecial, kFlat };
std::vector<float> make_logit_row(std::mt19937& rng, int64_t n_vocab, LogitRowKind kind);
// Up to 24 edits: biases within +-max_bias and penalties; some repeat a token, some name one
// outside the row.
std::vector<kernels::LogitEdit> make_logit_edits(std::mt19937& rng, int64_t n_vocab,
                                                 float max_bias = 100.0f);

void run_backend_elementwise_tests(BackendRun& run);  // op_test_backend_elementwise.cc
void run_backend_matmul_tests(BackendRun& run);       // op_test_backend_matmul.cc
void run_backend_attention_tests(BackendRun& run);    // op_test_backend_attention.cc
void run_backend_select_tests(BackendRun& run);       // op_test_backend_select.cc
void run_backend_logprobs_tests(BackendRun& run);     // op_test_backend_logprobs.cc

// Every backend check against `dev`; the entry point of --backend (op_test_backend.cc).
void run_backend_tests(backend::Backend& dev, Tally& tally, std::mt19937& rng, int n_threads);

}  // namespace tenbin::optest
