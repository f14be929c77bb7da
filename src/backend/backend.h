// The device a model's forward pass runs on. The model (model/arch) is written once against
// this interface: CpuBackend (backend/cpu_backend.h) runs it with the kernels of kernels/ops.h
// on host memory; the CUDA backend (src/cuda, a plugin loaded with dlopen, see
// backend/backend_registry.h) runs it on an NVIDIA GPU.
// Every float or byte pointer an op takes is backend memory (host memory for the CPU, device
// memory for CUDA) unless its name says host. Ops are issued in order and may run
// asynchronously (a GPU stream); download() waits for every op issued before it.
// Shapes are row-major: a [rows, n] array has row r at element r * n.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "backend/op_profile.h"
#include "kernels/ops.h"
#include "kernels/token_draw.h"
#include "kernels/token_logprobs.h"
#include "kernels/token_select.h"
#include "tensor/dtype.h"
#include "util/status.h"
#include "util/thread_pool.h"

namespace tenbin::backend {

// Bytes owned by a backend (or the host), freed by the deleter it was made with. Move-only.
class Buffer {
 public:
  using Deleter = std::function<void(void* data)>;
  Buffer() = default;
  Buffer(void* data, size_t bytes, Deleter deleter)
      : data_(data), bytes_(bytes), deleter_(std::move(deleter)) {}
  ~Buffer() { reset(); }
  Buffer(Buffer&& other) noexcept { *this = std::move(other); }
  Buffer& operator=(Buffer&& other) noexcept {
    if (this != &other) {
      reset();
      data_ = other.data_;
      bytes_ = other.bytes_;
      deleter_ = std::move(other.deleter_);
      other.data_ = nullptr;
      other.bytes_ = 0;
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* data() const { return data_; }
  template <class T>
  T* as() const {
    return static_cast<T*>(data_);
  }
  size_t bytes() const { return bytes_; }
  explicit operator bool() const { return data_ != nullptr; }
  void reset() {
    if (data_ != nullptr && deleter_) deleter_(data_);
    data_ = nullptr;
    bytes_ = 0;
  }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Deleter deleter_;
};

// Zero-filled, page-aligned host memory, on huge pages where allowed (util/large_alloc.h; what
// CpuBackend::allocate returns).
Buffer host_buffer(size_t bytes);

// A weight matrix made ready for a backend's matmul. `view` points into `bytes` (uploaded or
// repacked), or at the caller's host bytes when the backend reads them in place (then `bytes`
// is empty and the caller's mapping must outlive the view).
struct ResidentMatrix {
  Buffer bytes;
  kernels::MatrixView view;
};

// A flat, ragged batch (model/batch.h) as the ops read it, in host arrays. begin_forward copies
// what the backend needs, so the arrays may go away once it returns.
struct BatchDesc {
  int64_t n_tokens = 0;
  const int32_t* tokens = nullptr;     // [n_tokens] token ids (< the embedding table's rows)
  const int32_t* positions = nullptr;  // [n_tokens] position of each token in its sequence
  const int32_t* seq_ids = nullptr;    // [n_tokens] row of block_tables
  const int32_t* slots = nullptr;      // [n_tokens] KV slot: table[pos / bs] * bs + pos % bs
  int64_t n_seqs = 0;
  int64_t table_width = 0;                // block ids per row of block_tables
  const int32_t* block_tables = nullptr;  // [n_seqs, table_width], unused entries 0
  int64_t n_outputs = 0;
  const int32_t* output_rows = nullptr;  // [n_outputs] tokens whose logits are wanted, ascending
  // For select_top_k (nullptr: no output row selects): per output row, how many best tokens to
  // select (0: none, the row stays as computed; kernels::kDrawFromRow: draw a token with
  // output_draw[i]) and its edits, logit_edits[edit_begin[i], edit_begin[i + 1]).
  const int32_t* output_top_k = nullptr;       // [n_outputs], each kDrawFromRow or 0..kMaxSelectK
  const int32_t* output_edit_begin = nullptr;  // [n_outputs + 1], ascending from 0
  const kernels::LogitEdit* logit_edits = nullptr;
  const kernels::DrawParams* output_draw = nullptr;  // [n_outputs]
  // For raw_logprobs, with output_top_k (nullptr: no row reports logprobs): per output row, -1,
  // or how many best raw tokens to report (0..kernels::kMaxLogprobs).
  const int32_t* output_logprobs = nullptr;  // [n_outputs]
};

// One layer of a paged KV cache in backend memory (model/kv_cache.h): K and V are each
// n_slots * row_stride elements of `type` (F16, F32, or Q8_0 where kv_type_supported says so;
// kernels::kv_bytes gives their size), in whole blocks of block_size slots
// (slot s of block b is b * block_size + s), laid out inside a block as the backend's
// kv_layout() says (kernels/kv_layout.h).
struct KvLayer {
  void* k = nullptr;
  void* v = nullptr;
  int64_t row_stride = 0;  // elements per slot: n_kv_heads * head_dim
  int head_dim = 0;        // elements per kv head
  int block_size = 16;
  DType type = DType::kF16;
};

// A device's limits measured by its own probes, for `tenbin perf` to state each figure as a
// fraction of them: streaming read bandwidth of device memory, and the peak throughput of the
// matrix instructions its prefill matmul uses (e.g. f16 tensor cores).
struct DeviceLimits {
  double mem_read_gbs = 0;        // GB/s (1e9 bytes)
  double peak_matmul_gflops = 0;  // 2 flops per multiply-add
  std::string matmul_kind;        // what the peak is of: "f16 tensor cores (cuBLAS GEMM)"
};

// What a device has, for sizing the KV cache and for reports.
struct MemoryInfo {
  int64_t total_bytes = 0;
  int64_t free_bytes = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // "cpu" or "cuda:0", and a line for logs ("cuda:0 NVIDIA H200, 139.8 GiB, sm_90").
  virtual std::string name() const = 0;
  virtual std::string description() const = 0;
  // True when buffers are host addresses the caller may read and write directly.
  virtual bool host_memory() const = 0;
  // Device memory now (nullopt for the host: the KV cache is then sized by --kv-cache-gib).
  virtual std::optional<MemoryInfo> memory_info() const { return std::nullopt; }
  // matmul gives each row the same bits for any n_rows up to this (batch invariance); larger
  // batches may take another path (a GPU's tensor-core GEMM).
  virtual int64_t batch_invariant_rows() const { return INT64_MAX; }
  // Runs the device's probes (seconds). The host has none here: `tenbin perf` measures the CPU
  // with kernels/probe, which knows the thread pool.
  virtual Expected<DeviceLimits> measure_limits() {
    return Status::Errorf("{} has no device probes", name());
  }

  // --- memory ---
  // Zero-filled memory of `bytes`, or an error naming the size when there is not enough.
  virtual Expected<Buffer> allocate(size_t bytes) = 0;
  // Ordered after every op issued before it; `host_src` may be reused once it returns.
  virtual void upload(void* dst, const void* host_src, size_t bytes) = 0;
  // Waits for every op issued before it, then copies.
  virtual void download(void* host_dst, const void* src, size_t bytes) = 0;

  // --- weights (once, at load) ---
  // `host` (layout kRows, host memory that outlives the model) made readable by matmul.
  virtual Expected<ResidentMatrix> make_resident(const kernels::MatrixView& host) = 0;
  // The row-wise concatenation of `parts` (same type and cols, layout kRows) as one matrix, so
  // matmuls of the same input run as one; `part_views` receives each part's view inside it.
  // nullopt when this backend cannot stack them (the caller then makes each part resident;
  // part_views is then unspecified).
  virtual std::optional<ResidentMatrix> make_resident_stacked(
      const std::vector<kernels::MatrixView>& parts,
      std::vector<kernels::MatrixView>* part_views) = 0;

  // --- one forward pass ---
  // Takes the batch the following ops read (token ids, positions, KV slots, block tables,
  // output rows). `pool` is the host thread pool the CPU backend splits work over; a GPU
  // backend ignores it. An error when the batch cannot run here (too large for the device).
  // Slots and block tables count in blocks of the KvLayer.block_size the ops are given. Ops
  // that take n_rows may cover fewer rows than n_tokens (the output rows), never more.
  virtual Status begin_forward(const BatchDesc& batch, ThreadPool& pool) = 0;

  // Whether embed can read a table of `type` (checked once at load, so a model this backend
  // cannot run fails there with a clear message rather than at its first forward).
  virtual Status check_table_type(DType type) const {
    (void)type;
    return Status::Ok();
  }
  // x[t] = row tokens[t] of `table` as f32: [n_tokens, cols]. The table is the stored bytes
  // (layout kRows) in backend memory: host memory as mapped, or allocate + upload on a device
  // (make_resident may repack a matrix, so it is not used for tables).
  virtual void embed(const kernels::MatrixView& table, float* x) = 0;
  // Each of n_rows rows of n values: y = x * weight / sqrt(mean(x^2) + eps) (kernels::rms_norm).
  virtual void rms_norm(const float* x, const float* weight, float* y, int64_t n_rows, int64_t n,
                        float eps) = 0;
  // y[r] = W x[r] for r < n_rows: x [n_rows, w.cols], y [n_rows, w.rows] (kernels::matmul).
  virtual void matmul(const kernels::MatrixView& w, const float* x, int64_t n_rows, float* y) = 0;
  // rows[r] += bias for r < n_rows; rows [n_rows, n].
  virtual void add_bias(float* rows, const float* bias, int64_t n_rows, int64_t n) = 0;
  // dst[r][c] = src[r][c] for r < n_rows, c < n_cols, rows `src_stride` / `dst_stride` apart.
  virtual void copy_columns(const float* src, int64_t src_stride, float* dst, int64_t dst_stride,
                            int64_t n_rows, int64_t n_cols) = 0;
  // RoPE in place on x [n_tokens, n_heads * head_dim] at each token's position (kernels::rope).
  virtual void rope(float* x, int n_heads, int head_dim, const kernels::RopeParams& params) = 0;
  // Attaches `profile` (nullptr detaches): every op adds its wall time to it. False when the
  // backend cannot time its ops (asynchronous devices).
  virtual bool set_op_profile(OpProfile* profile) { return profile == nullptr; }
  // How this backend lays out a KV block (its store_kv writes and its attention reads).
  virtual kernels::KvLayout kv_layout() const { return kernels::KvLayout::kRows; }
  // KV cache element types its store_kv and attention take.
  virtual bool kv_type_supported(DType type) const {
    return type == DType::kF16 || type == DType::kF32;
  }
  // Writes k and v ([n_tokens, row_stride] f32) of every token into its slot of `layer`,
  // converted to the cache type.
  virtual void store_kv(const KvLayer& layer, const float* k, const float* v) = 0;
  // For every token t: causal attention of q[t] ([n_heads, head_dim]) over positions
  // 0..positions[t] of its sequence, read through its block table (kernels::attention);
  // out [n_tokens, n_heads * head_dim]. Call after store_kv of the same layer, so a token sees
  // the earlier tokens of its own batch.
  virtual void attention(const float* q, const KvLayer& layer, const kernels::AttentionShape& shape,
                         float* out) = 0;
  // out[r][i] = silu(gate[r][i]) * up[r][i] for r < n_rows, i < n; gate and up rows are
  // `in_stride` apart, out rows n apart.
  virtual void silu_mul(const float* gate, const float* up, int64_t in_stride, float* out,
                        int64_t n_rows, int64_t n) = 0;
  // out = a + b over n values (out may alias a or b).
  virtual void add(const float* a, const float* b, float* out, int64_t n) = 0;
  // dst[i] = src[output_rows[i]] for i < n_outputs; rows of n values (nothing when none).
  virtual void gather_output_rows(const float* src, int64_t n, float* dst) = 0;
  // Sampling where the logits are (kernels/token_select.h, kernels/token_draw.h): for each
  // output row i with output_top_k[i] = k > 0, applies the row's logit edits to row i of logits
  // ([n_outputs, n_vocab]) in place and writes its k best tokens, best first, to
  // best[i * max_k, i * max_k + k); with k = kDrawFromRow, applies the edits and writes the
  // token draw_from_row draws over the row's min(n_vocab, kMaxSelectK) best (or
  // kDrawNeedsSortedRow) and its logit to best[i * max_k]. max_k is at least every row's entry
  // count. Rows with k = 0 are left as they are, and so are the entries of `best` past each
  // row's.
  virtual void select_top_k(float* logits, int64_t n_vocab, int64_t max_k,
                            kernels::TokenCandidate* best) = 0;
  // OpenAI logprobs from the raw rows, before select_top_k edits them (kernels/
  // token_logprobs.h): for each output row i with output_logprobs[i] = n >= 0, writes
  // kernels::row_logprobs of row i of logits ([n_outputs, n_vocab]) with n tokens to rows[i],
  // and for each of the row's edits e (logit_edits[edit_begin[i], edit_begin[i + 1])) the raw
  // logit of its token to edit_raw[e], NaN for a token outside the row, so that the host can
  // tell a drawn token's raw logit from its edited one. Other rows and entries are left as they
  // are.
  virtual void raw_logprobs(const float* logits, int64_t n_vocab, kernels::RowLogprobs* rows,
                            float* edit_raw) = 0;
};

}  // namespace tenbin::backend
