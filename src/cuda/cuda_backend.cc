// CudaBackend: device setup, memory, batch upload (see cuda_backend.h). Weights are in
// cuda_weights.cc, the matmul in cuda_matmul.cc, the other ops in cuda_ops.cc.
#include "cuda/cuda_backend.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string_view>

#include "cuda/check.h"
#include "cuda/launch.h"

namespace tenbin::cuda {
namespace {

// Frees a device allocation of `device` once no queued work can still use it.
void free_device_memory(int device, void* data) {
  int previous = -1;
  if (cudaGetDevice(&previous) != cudaSuccess) previous = -1;
  cudaError_t err = cudaSetDevice(device);
  if (err == cudaSuccess) err = cudaDeviceSynchronize();
  if (err == cudaSuccess) err = cudaFree(data);
  if (err != cudaSuccess && err != cudaErrorCudartUnloading) {
    std::fprintf(stderr, "tenbin cuda: freeing a device buffer on cuda:%d failed: %s\n", device,
                 cudaGetErrorString(err));
  }
  (void)cudaGetLastError();
  if (previous >= 0 && previous != device) (void)cudaSetDevice(previous);
}

Status cuda_error(int device, const char* what, cudaError_t err) {
  (void)cudaGetLastError();  // clear it so later calls do not report it again
  return Status::Errorf("cuda:{}: {} failed: {}", device, what, cudaGetErrorString(err));
}

// Ints per section of the batch staging, so each device array starts 128-byte aligned.
int64_t padded(int64_t n) {
  return (n + 31) / 32 * 32;
}

}  // namespace

Expected<std::unique_ptr<CudaBackend>> CudaBackend::create(int index) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    return Status::Errorf("no CUDA driver or device: {}", cudaGetErrorString(err));
  }
  if (index < 0 || index >= count) {
    return Status::Errorf("cuda:{} requested but this machine has {} CUDA device{}", index, count,
                          count == 1 ? "" : "s");
  }
  std::unique_ptr<CudaBackend> backend(new CudaBackend(index));
  TENBIN_RETURN_IF_ERROR(backend->init());
  return backend;
}

CudaBackend::CudaBackend(int device) : device_(device), name_(fmt::format("cuda:{}", device)) {}

Status CudaBackend::init() {
  if (const char* graphs = std::getenv("TENBIN_CUDA_GRAPHS");
      graphs != nullptr && *graphs != '\0') {
    if (std::string_view(graphs) != "0" && std::string_view(graphs) != "1") {
      return Status::Errorf("TENBIN_CUDA_GRAPHS={} is not known (0 or 1)", graphs);
    }
#ifdef TENBIN_CUDA_SYNC_CHECK
    // That build synchronizes after every launch, which a capturing stream refuses.
    graphs_ = false;
#else
    graphs_ = std::string_view(graphs) == "1";
#endif
  }
  if (const char* gemm = std::getenv("TENBIN_CUDA_QUANT_GEMM"); gemm != nullptr && *gemm != '\0') {
    if (std::string_view(gemm) != "f16") {
      return Status::Errorf("TENBIN_CUDA_QUANT_GEMM={} is not known (f16, or unset)", gemm);
    }
    quantized_gemm_ = true;
  }
  cudaError_t err = cudaSetDevice(device_);
  if (err != cudaSuccess) return cuda_error(device_, "cudaSetDevice", err);
  cudaDeviceProp prop{};
  err = cudaGetDeviceProperties(&prop, device_);
  if (err != cudaSuccess) return cuda_error(device_, "cudaGetDeviceProperties", err);
  description_ =
      fmt::format("{} {}, {:.1f} GiB, sm_{}{}", name_, prop.name,
                  static_cast<double>(prop.totalGlobalMem) / (1 << 30), prop.major, prop.minor);
  err = probe_kernel_image();
  if (err != cudaSuccess) {
    return Status::Errorf(
        "{}: this libtenbin_cuda.so has no kernels for sm_{}{} (built for sm {}): {}", description_,
        prop.major, prop.minor, TENBIN_CUDA_ARCHS, cudaGetErrorString(err));
  }
  err = cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking);
  if (err != cudaSuccess) return cuda_error(device_, "creating a stream", err);
  err = cudaEventCreateWithFlags(&staging_done_, cudaEventDisableTiming);
  if (err != cudaSuccess) return cuda_error(device_, "creating an event", err);
  const cublasStatus_t status = cublasCreate(&cublas_);
  if (status != CUBLAS_STATUS_SUCCESS) {
    cublas_ = nullptr;
    return Status::Errorf("{}: cuBLAS initialization failed: {}", name_,
                          cublasGetStatusString(status));
  }
  if (cublasSetStream(cublas_, stream_) != CUBLAS_STATUS_SUCCESS ||
      cublasSetMathMode(cublas_, CUBLAS_DEFAULT_MATH) != CUBLAS_STATUS_SUCCESS) {
    return Status::Errorf("{}: configuring cuBLAS failed", name_);
  }
  return Status::Ok();
}

CudaBackend::~CudaBackend() {
  (void)cudaSetDevice(device_);
  if (capturing_) {
    cudaGraph_t graph = nullptr;
    if (cudaStreamEndCapture(stream_, &graph) == cudaSuccess && graph != nullptr) {
      (void)cudaGraphDestroy(graph);
    }
  }
  if (graph_exec_ != nullptr) (void)cudaGraphExecDestroy(graph_exec_);
  if (stream_ != nullptr) (void)cudaStreamSynchronize(stream_);
  if (cublas_ != nullptr) (void)cublasDestroy(cublas_);
  if (staging_done_ != nullptr) (void)cudaEventDestroy(staging_done_);
  if (stream_ != nullptr) (void)cudaStreamDestroy(stream_);
  (void)cudaGetLastError();
}

void CudaBackend::bind() const {
  TENBIN_CUDA_CHECK(cudaSetDevice(device_));
}

std::optional<backend::MemoryInfo> CudaBackend::memory_info() const {
  bind();
  size_t free_bytes = 0, total_bytes = 0;
  const cudaError_t err = cudaMemGetInfo(&free_bytes, &total_bytes);
  if (err != cudaSuccess) {
    std::fprintf(stderr, "tenbin cuda: cudaMemGetInfo on %s failed: %s\n", name_.c_str(),
                 cudaGetErrorString(err));
    (void)cudaGetLastError();
    return std::nullopt;
  }
  return backend::MemoryInfo{static_cast<int64_t>(total_bytes), static_cast<int64_t>(free_bytes)};
}

Expected<backend::Buffer> CudaBackend::device_alloc(size_t bytes, const char* what) {
  if (bytes == 0) return backend::Buffer();
  void* data = nullptr;
  const cudaError_t err = cudaMalloc(&data, bytes);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    size_t free_bytes = 0, total_bytes = 0;
    (void)cudaMemGetInfo(&free_bytes, &total_bytes);
    (void)cudaGetLastError();
    return Status::Errorf("{}: cannot allocate {} for {} ({} free of {}): {}", name_,
                          describe_bytes(bytes), what, describe_bytes(free_bytes),
                          describe_bytes(total_bytes), cudaGetErrorString(err));
  }
  const int device = device_;
  return backend::Buffer(data, bytes, [device](void* p) { free_device_memory(device, p); });
}

Expected<backend::Buffer> CudaBackend::allocate(size_t bytes) {
  bind();
  Expected<backend::Buffer> buffer = device_alloc(bytes, "a buffer");
  if (!buffer.ok() || bytes == 0) return buffer;
  const cudaError_t err = cudaMemsetAsync(buffer->data(), 0, bytes, stream_);
  if (err != cudaSuccess) return cuda_error(device_, "zeroing a new buffer", err);
  return buffer;
}

void CudaBackend::upload(void* dst, const void* host_src, size_t bytes) {
  if (bytes == 0) return;
  bind();
  TENBIN_CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream_));
  // The caller may free or reuse host_src as soon as this returns.
  TENBIN_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaBackend::end_capture_and_launch() {
  capturing_ = false;
  cudaGraph_t graph = nullptr;
  TENBIN_CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
  if (graph_exec_ != nullptr) {
    cudaGraphExecUpdateResultInfo info{};
    if (cudaGraphExecUpdate(graph_exec_, graph, &info) != cudaSuccess) {
      (void)cudaGetLastError();  // another topology (batch shape): instantiate it instead
      TENBIN_CUDA_CHECK(cudaGraphExecDestroy(graph_exec_));
      graph_exec_ = nullptr;
    }
  }
  if (graph_exec_ == nullptr) TENBIN_CUDA_CHECK(cudaGraphInstantiate(&graph_exec_, graph, 0));
  TENBIN_CUDA_CHECK(cudaGraphDestroy(graph));
  TENBIN_CUDA_CHECK(cudaGraphLaunch(graph_exec_, stream_));
}

void CudaBackend::download(void* host_dst, const void* src, size_t bytes) {
  bind();
  if (capturing_) end_capture_and_launch();
  if (bytes > 0) {
    TENBIN_CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
  }
  // Also where a fault of an earlier asynchronous op surfaces; build with
  // TENBIN_CUDA_SYNC_CHECK=ON to have each op report its own.
  TENBIN_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

Status CudaBackend::begin_forward(const backend::BatchDesc& batch, ThreadPool& /*pool*/) {
  bind();
  if (capturing_) end_capture_and_launch();  // a step that downloaded nothing
  const int64_t n = batch.n_tokens;
  if (n < 0 || batch.n_seqs < 0 || batch.table_width < 0 || batch.n_outputs < 0 ||
      batch.n_outputs > n) {
    return Status::Errorf(
        "{}: malformed batch ({} tokens, {} sequences, table width {}, {} outputs)", name_, n,
        batch.n_seqs, batch.table_width, batch.n_outputs);
  }
  if (n > std::numeric_limits<int32_t>::max() / 4) {
    return Status::Errorf("{}: a batch of {} tokens is too large", name_, n);
  }
  if (n > 0 && (batch.tokens == nullptr || batch.positions == nullptr || batch.seq_ids == nullptr ||
                batch.slots == nullptr)) {
    return Status::Errorf("{}: batch arrays missing", name_);
  }
  const int64_t table_ints = batch.n_seqs * batch.table_width;
  if ((table_ints > 0 && batch.block_tables == nullptr) ||
      (batch.n_outputs > 0 && batch.output_rows == nullptr)) {
    return Status::Errorf("{}: batch arrays missing", name_);
  }
  for (int64_t t = 0; t < n; ++t) {
    if (batch.seq_ids[t] < 0 || batch.seq_ids[t] >= batch.n_seqs || batch.positions[t] < 0) {
      return Status::Errorf("{}: token {} has sequence {} (of {}) at position {}", name_, t,
                            batch.seq_ids[t], batch.n_seqs, batch.positions[t]);
    }
  }
  for (int64_t i = 0; i < batch.n_outputs; ++i) {
    if (batch.output_rows[i] < 0 || batch.output_rows[i] >= n) {
      return Status::Errorf("{}: output row {} is not a token of the batch of {}", name_,
                            batch.output_rows[i], n);
    }
  }

  // Each output row's selection (select_top_k), when the batch asks for one.
  const bool selects = batch.output_top_k != nullptr && batch.n_outputs > 0;
  int64_t n_edits = 0;
  if (selects) {
    if (batch.output_edit_begin == nullptr || batch.output_edit_begin[0] != 0) {
      return Status::Errorf("{}: output selections without edit offsets", name_);
    }
    for (int64_t i = 0; i < batch.n_outputs; ++i) {
      const int32_t k = batch.output_top_k[i];
      const bool draws = k == kernels::kDrawFromRow && batch.output_draw != nullptr;
      if ((!draws && (k < 0 || k > kernels::kMaxSelectK)) ||
          batch.output_edit_begin[i + 1] < batch.output_edit_begin[i]) {
        return Status::Errorf("{}: output row {} selects {} tokens with edits [{}, {})", name_, i,
                              k, batch.output_edit_begin[i], batch.output_edit_begin[i + 1]);
      }
    }
    n_edits = batch.output_edit_begin[batch.n_outputs];
    if (n_edits > 0 && batch.logit_edits == nullptr) {
      return Status::Errorf("{}: batch arrays missing", name_);
    }
  }
  static_assert(sizeof(kernels::LogitEdit) == 4 * sizeof(int32_t));
  static_assert(sizeof(kernels::DrawParams) == 6 * sizeof(int32_t));
  const int64_t n_select = selects ? batch.n_outputs : 0;
  const int64_t n_begin = selects ? batch.n_outputs + 1 : 0;
  const int64_t n_draw = selects && batch.output_draw != nullptr ? batch.n_outputs : 0;
  const int64_t n_logprobs = selects && batch.output_logprobs != nullptr ? batch.n_outputs : 0;

  // Layout of the staging (ints): tokens, positions, seq_ids, slots, block tables, outputs,
  // the outputs' top_k, edit offsets, edits, draw parameters and logprobs counts.
  constexpr int kSections = 11;
  const int64_t sizes[kSections] = {
      n,        n,       n,           n,          table_ints, batch.n_outputs,
      n_select, n_begin, 4 * n_edits, 6 * n_draw, n_logprobs};
  int64_t offsets[kSections + 1] = {0};
  for (int i = 0; i < kSections; ++i) offsets[i + 1] = offsets[i] + padded(sizes[i]);
  const auto bytes = static_cast<size_t>(offsets[kSections]) * sizeof(int32_t);

  // The previous batch's copy must have left the staging before it is overwritten.
  TENBIN_CUDA_CHECK(cudaEventSynchronize(staging_done_));
  if (bytes > 0) {
    TENBIN_RETURN_IF_ERROR(batch_host_.reserve(bytes, "the batch arrays"));
    TENBIN_RETURN_IF_ERROR(batch_device_.reserve(bytes, stream_, "the batch arrays"));
    auto* host = batch_host_.as<int32_t>();
    const auto copy = [&](int section, const void* src) {
      if (sizes[section] > 0) {
        std::memcpy(host + offsets[section], src,
                    static_cast<size_t>(sizes[section]) * sizeof(int32_t));
      }
    };
    copy(0, batch.tokens);
    copy(1, batch.positions);
    copy(2, batch.seq_ids);
    copy(3, batch.slots);
    copy(4, batch.block_tables);
    copy(5, batch.output_rows);
    copy(6, batch.output_top_k);
    copy(7, batch.output_edit_begin);
    copy(8, batch.logit_edits);
    copy(9, batch.output_draw);
    copy(10, batch.output_logprobs);
    TENBIN_CUDA_CHECK(
        cudaMemcpyAsync(batch_device_.data(), host, bytes, cudaMemcpyHostToDevice, stream_));
    TENBIN_CUDA_CHECK(cudaEventRecord(staging_done_, stream_));
  }
  const auto* host = batch_host_.as<const int32_t>();
  const auto* dev = batch_device_.as<const int32_t>();
  n_tokens_ = n;
  n_seqs_ = batch.n_seqs;
  table_width_ = batch.table_width;
  n_outputs_ = batch.n_outputs;
  host_tokens_ = host != nullptr ? host + offsets[0] : nullptr;
  host_positions_ = host != nullptr ? host + offsets[1] : nullptr;
  tokens_ = dev != nullptr ? dev + offsets[0] : nullptr;
  positions_ = dev != nullptr ? dev + offsets[1] : nullptr;
  seq_ids_ = dev != nullptr ? dev + offsets[2] : nullptr;
  slots_ = dev != nullptr ? dev + offsets[3] : nullptr;
  block_tables_ = dev != nullptr ? dev + offsets[4] : nullptr;
  output_rows_ = dev != nullptr ? dev + offsets[5] : nullptr;
  output_top_k_ = selects ? dev + offsets[6] : nullptr;
  output_edit_begin_ = selects ? dev + offsets[7] : nullptr;
  logit_edits_ = selects ? reinterpret_cast<const kernels::LogitEdit*>(dev + offsets[8]) : nullptr;
  output_draw_ =
      n_draw > 0 ? reinterpret_cast<const kernels::DrawParams*>(dev + offsets[9]) : nullptr;
  output_logprobs_ = n_logprobs > 0 ? dev + offsets[10] : nullptr;

  // The activations' scratch for the widest matrix, so a batch that does not fit is refused
  // here rather than aborting inside an op.
  const Status scratch = reserve_matmul_scratch(max_cols_, n);
  if (!scratch.ok()) {
    return Status::Errorf("{}: a batch of {} tokens does not fit: {}", name_, n, scratch.message());
  }

  // A decode step as a graph, once a step has shown the attention shape: nothing the ops do
  // may allocate while the stream captures, so the attention scratch is sized here.
  if (graphs_ && n > 0 && n <= kMatvecMaxTokens && attention_heads_ > 0) {
    int64_t max_ctx = 0;
    for (int64_t t = 0; t < n; ++t) max_ctx = std::max<int64_t>(max_ctx, batch.positions[t] + 1);
    const int64_t want = attention_scratch_want(n, max_ctx, attention_heads_, attention_head_dim_,
                                                attention_kv_type_);
    if (want > 0) {
      TENBIN_RETURN_IF_ERROR(attention_scratch_.reserve(static_cast<size_t>(want) * sizeof(float),
                                                        stream_, "attention states"));
    }
    TENBIN_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
    capturing_ = true;
  }
  return Status::Ok();
}

Status CudaBackend::reserve_matmul_scratch(int64_t cols, int64_t n_rows) {
  if (cols <= 0 || n_rows <= 0) return Status::Ok();
  const int64_t decode_rows = std::min(n_rows, kMatvecMaxTokens);
  TENBIN_RETURN_IF_ERROR(
      act_q_.reserve(static_cast<size_t>(decode_rows * cols), stream_, "quantized activations"));
  // Up to two scales per 32 activations (Q8_1's d and s).
  TENBIN_RETURN_IF_ERROR(act_d_.reserve(static_cast<size_t>(decode_rows * (cols / 16 + 1)) * 4,
                                        stream_, "activation scales"));
  return act_16_.reserve(static_cast<size_t>(n_rows * cols) * 2, stream_, "16-bit activations");
}

}  // namespace tenbin::cuda
