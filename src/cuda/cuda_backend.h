// CudaBackend: tenbin::backend::Backend on one NVIDIA GPU, one non-default stream and a cuBLAS
// handle bound to it. Every op is enqueued on that stream (nothing waits except upload,
// download, allocation growth and buffer frees); the kernels are in the .cu files (launch.h).
// Weights stay in their GGUF layout (kRows) in device memory. Not thread-safe: one thread (the
// engine's step loop) drives a backend; each call first makes this device current for it.
// With TENBIN_CUDA_GRAPHS=1, decode steps (up to kMatvecMaxTokens tokens) run as a CUDA graph:
// begin_forward starts capturing the stream once the step's scratch is sized, download (or the
// next begin_forward) ends the capture, updates the instantiated graph with it (or
// instantiates one) and launches it, so the step costs one launch instead of one per kernel.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "cuda/device_buffer.h"

namespace tenbin::cuda {

class CudaBackend final : public backend::Backend {
 public:
  // The backend on device `index`, or an error saying why not (no driver, no such device, ...).
  static Expected<std::unique_ptr<CudaBackend>> create(int index);
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  std::string name() const override { return name_; }
  std::string description() const override { return description_; }
  bool host_memory() const override { return false; }
  std::optional<backend::MemoryInfo> memory_info() const override;
  // The decode kernels' largest batch (launch.h); the cuBLAS path above it is not invariant.
  int64_t batch_invariant_rows() const override;
  // Device-memory read bandwidth (read_probe.cu) and the f16 tensor-core GEMM peak through
  // cuBLAS (the prefill matmul's path), best of several timed runs each (cuda_probe.cc).
  Expected<backend::DeviceLimits> measure_limits() override;

  Expected<backend::Buffer> allocate(size_t bytes) override;
  void upload(void* dst, const void* host_src, size_t bytes) override;
  void download(void* host_dst, const void* src, size_t bytes) override;

  Expected<backend::ResidentMatrix> make_resident(const kernels::MatrixView& host) override;
  std::optional<backend::ResidentMatrix> make_resident_stacked(
      const std::vector<kernels::MatrixView>& parts,
      std::vector<kernels::MatrixView>* part_views) override;

  // F16, F32, BF16 and Q8_0, in rows layout (store_kv.cu, attention.cu, attention_exact.cu).
  bool kv_type_supported(DType type) const override;

  Status begin_forward(const backend::BatchDesc& batch, ThreadPool& pool) override;
  Status check_table_type(DType type) const override;
  void embed(const kernels::MatrixView& table, float* x) override;
  void rms_norm(const float* x, const float* weight, float* y, int64_t n_rows, int64_t n,
                float eps) override;
  void matmul(const kernels::MatrixView& w, const float* x, int64_t n_rows, float* y) override;
  void add_bias(float* rows, const float* bias, int64_t n_rows, int64_t n) override;
  void copy_columns(const float* src, int64_t src_stride, float* dst, int64_t dst_stride,
                    int64_t n_rows, int64_t n_cols) override;
  void rope(float* x, int n_heads, int head_dim, const kernels::RopeParams& params) override;
  void store_kv(const backend::KvLayer& layer, const float* k, const float* v) override;
  void attention(const float* q, const backend::KvLayer& layer,
                 const kernels::AttentionShape& shape, float* out) override;
  void silu_mul(const float* gate, const float* up, int64_t in_stride, float* out, int64_t n_rows,
                int64_t n) override;
  void add(const float* a, const float* b, float* out, int64_t n) override;
  void gather_output_rows(const float* src, int64_t n, float* dst) override;
  // token_select.cu: edits, top-k or the whole draw on the device, so a step downloads k
  // candidates or one token per row instead of the row.
  void select_top_k(float* logits, int64_t n_vocab, int64_t max_k,
                    kernels::TokenCandidate* best) override;
  // token_select.cu too: a step downloads a row's normalizer and best raw tokens for logprobs.
  void raw_logprobs(const float* logits, int64_t n_vocab, kernels::RowLogprobs* rows,
                    float* edit_raw) override;

 private:
  explicit CudaBackend(int device);
  Status init();
  // Makes this backend's device current for the calling thread.
  void bind() const;
  // Device memory of `bytes` freed by the returned Buffer's deleter, uninitialized.
  Expected<backend::Buffer> device_alloc(size_t bytes, const char* what);
  // Grows the scratch the matmul paths need for matrices of `cols` columns and `n_rows` rows
  // of activations (begin_forward returns its error; matmul aborts with it).
  Status reserve_matmul_scratch(int64_t cols, int64_t n_rows);
  // Records w.cols and, with TENBIN_CUDA_QUANT_GEMM=f16, grows the f16 slice buffer the prefill
  // GEMM expands quantized `w` into.
  Status reserve_dequant_scratch(const kernels::MatrixView& w);
  void matmul_decode(const kernels::MatrixView& w, const float* x, int64_t n_rows, float* y);
  // Floats of attention scratch a batch of n_tokens whose longest context is max_ctx needs
  // over a cache of kv_type (cuda_ops.cc).
  static int64_t attention_scratch_want(int64_t n_tokens, int64_t max_ctx, int n_heads,
                                        int head_dim, DType kv_type);
  // Ends the stream capture begun by begin_forward and runs the captured step as a graph.
  void end_capture_and_launch();
  void matmul_gemm(const kernels::MatrixView& w, const float* x, int64_t n_rows, float* y);

  int device_ = 0;
  std::string name_;
  std::string description_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  cudaEvent_t staging_done_ = nullptr;  // the last batch upload left the pinned staging

  // The current batch (begin_forward): device arrays inside batch_device_, host copies inside
  // batch_host_ (valid until the next begin_forward).
  PinnedBuffer batch_host_;
  DeviceBuffer batch_device_;
  int64_t n_tokens_ = 0;
  int64_t n_seqs_ = 0;
  int64_t table_width_ = 0;
  int64_t n_outputs_ = 0;
  const int32_t* host_tokens_ = nullptr;
  const int32_t* host_positions_ = nullptr;
  const int32_t* tokens_ = nullptr;
  const int32_t* positions_ = nullptr;
  const int32_t* seq_ids_ = nullptr;
  const int32_t* slots_ = nullptr;
  const int32_t* block_tables_ = nullptr;
  const int32_t* output_rows_ = nullptr;
  const int32_t* output_top_k_ = nullptr;  // nullptr: no output row selects
  const int32_t* output_edit_begin_ = nullptr;
  const kernels::LogitEdit* logit_edits_ = nullptr;
  const kernels::DrawParams* output_draw_ = nullptr;
  const int32_t* output_logprobs_ = nullptr;  // nullptr: no output row reports logprobs

  // Matmul scratch: quantized activations (decode), 16-bit activations, the f16 copy of a
  // block-quantized matrix (prefill, a slice of rows at a time), and attention states.
  int64_t max_cols_ = 0;  // widest matrix made resident
  // Batches above kMatvecMaxTokens of block-quantized weights through the f16 cuBLAS GEMM
  // instead of the decode kernels (TENBIN_CUDA_QUANT_GEMM=f16; cuda_matmul.cc).
  bool quantized_gemm_ = false;
  DeviceBuffer act_q_;
  DeviceBuffer act_d_;
  DeviceBuffer act_16_;
  DeviceBuffer weights_f16_;
  DeviceBuffer attention_scratch_;

  // CUDA graphs (TENBIN_CUDA_GRAPHS=1): whether enabled, whether the stream is capturing a
  // step, the instantiated graph updated with each capture, and the attention shape of the
  // last step (its scratch is sized before a capture, where no allocation may happen).
  bool graphs_ = false;
  bool capturing_ = false;
  cudaGraphExec_t graph_exec_ = nullptr;
  int attention_heads_ = 0;
  int attention_head_dim_ = 0;
  DType attention_kv_type_ = DType::kF16;
};

}  // namespace tenbin::cuda
