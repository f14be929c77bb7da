// CudaBackend: weight matrices made resident in device memory, in their GGUF layout (kRows), so
// that every kernel (embed, the decode matvecs, the prefill dequantization) reads the rows as
// the file stores them.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.h"

namespace tenbin::cuda {
namespace {

constexpr const char* kSupportedList =
    "f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_K, q3_K, q4_K, q5_K, q6_K";
// Bytes of the f16 copy of a quantized matrix the prefill GEMM expands at a time.
constexpr int64_t kDequantSliceBytes = int64_t{128} << 20;

// Bytes of `view` in layout kRows, or an error saying why it cannot be made resident.
Expected<int64_t> matrix_bytes(const kernels::MatrixView& view, const std::string& device) {
  if (!weight_type_supported(view.type)) {
    return Status::Errorf("weight type {} is not supported by the CUDA backend yet (supported: {})",
                          dtype_name(view.type), kSupportedList);
  }
  if (view.layout != kernels::WeightLayout::kRows) {
    return Status::Errorf("{}: weights must be in the GGUF row layout", device);
  }
  const std::optional<int64_t> row = row_bytes(view.type, view.cols);
  if (view.rows < 0 || view.cols <= 0 || !row) {
    return Status::Errorf("{}: a {} matrix of {} x {} has no valid row layout", device,
                          dtype_name(view.type), view.rows, view.cols);
  }
  if (view.rows > 0 && *row > std::numeric_limits<int64_t>::max() / view.rows) {
    return Status::Errorf("{}: a {} matrix of {} x {} is too large", device, dtype_name(view.type),
                          view.rows, view.cols);
  }
  if (view.rows > 0 && view.data == nullptr) {
    return Status::Errorf("{}: a {} matrix of {} x {} has no data", device, dtype_name(view.type),
                          view.rows, view.cols);
  }
  return *row * view.rows;
}

bool is_block_quantized(DType type) {
  return type != DType::kF32 && type != DType::kF16 && type != DType::kBF16;
}

}  // namespace

Status CudaBackend::check_table_type(DType type) const {
  if (weight_type_supported(type)) return Status::Ok();
  return Status::Errorf(
      "embedding table type {} is not supported by the CUDA backend yet (supported: {})",
      dtype_name(type), kSupportedList);
}

Status CudaBackend::reserve_dequant_scratch(const kernels::MatrixView& w) {
  if (w.cols > max_cols_) max_cols_ = w.cols;
  // Only the f16 GEMM path (TENBIN_CUDA_QUANT_GEMM=f16) expands quantized matrices.
  if (!quantized_gemm_ || !is_block_quantized(w.type) || w.rows <= 0) return Status::Ok();
  const int64_t row_f16 = w.cols * 2;
  const int64_t slice_rows = std::min(w.rows, std::max<int64_t>(1, kDequantSliceBytes / row_f16));
  return weights_f16_.reserve(static_cast<size_t>(slice_rows * row_f16), stream_,
                              "the f16 copy of a quantized matrix (prefill)");
}

Expected<backend::ResidentMatrix> CudaBackend::make_resident(const kernels::MatrixView& host) {
  bind();
  Expected<int64_t> bytes = matrix_bytes(host, name_);
  if (!bytes.ok()) return bytes.status();
  backend::ResidentMatrix resident;
  Expected<backend::Buffer> buffer = device_alloc(static_cast<size_t>(*bytes), "a weight matrix");
  if (!buffer.ok()) return buffer.status();
  resident.bytes = std::move(*buffer);
  if (*bytes > 0) {
    // Host views are usually a mapped GGUF file (pageable): the copy is staged by the driver.
    TENBIN_CUDA_CHECK(cudaMemcpyAsync(resident.bytes.data(), host.data, static_cast<size_t>(*bytes),
                                      cudaMemcpyHostToDevice, stream_));
    TENBIN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }
  resident.view = host;
  resident.view.data = resident.bytes.data();
  TENBIN_RETURN_IF_ERROR(reserve_dequant_scratch(resident.view));
  return resident;
}

std::optional<backend::ResidentMatrix> CudaBackend::make_resident_stacked(
    const std::vector<kernels::MatrixView>& parts, std::vector<kernels::MatrixView>* part_views) {
  if (parts.empty()) return std::nullopt;
  bind();
  int64_t total = 0, rows = 0;
  std::vector<int64_t> part_bytes;
  for (const kernels::MatrixView& part : parts) {
    Expected<int64_t> bytes = matrix_bytes(part, name_);
    // The caller then makes each part resident, which reports the problem.
    if (!bytes.ok() || part.type != parts[0].type || part.cols != parts[0].cols) {
      return std::nullopt;
    }
    part_bytes.push_back(*bytes);
    total += *bytes;
    rows += part.rows;
  }
  Expected<backend::Buffer> buffer =
      device_alloc(static_cast<size_t>(total), "a stacked weight matrix");
  if (!buffer.ok()) return std::nullopt;
  backend::ResidentMatrix resident;
  resident.bytes = std::move(*buffer);
  auto* base = resident.bytes.as<uint8_t>();
  // Rows are contiguous in kRows, so stacking rows is concatenating bytes.
  int64_t offset = 0;
  if (part_views != nullptr) part_views->clear();
  for (size_t i = 0; i < parts.size(); ++i) {
    if (part_bytes[i] > 0) {
      TENBIN_CUDA_CHECK(cudaMemcpyAsync(base + offset, parts[i].data,
                                        static_cast<size_t>(part_bytes[i]), cudaMemcpyHostToDevice,
                                        stream_));
    }
    if (part_views != nullptr) {
      kernels::MatrixView view = parts[i];
      view.data = base + offset;
      part_views->push_back(view);
    }
    offset += part_bytes[i];
  }
  TENBIN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  resident.view = parts[0];
  resident.view.rows = rows;
  resident.view.data = base;
  if (!reserve_dequant_scratch(resident.view).ok()) return std::nullopt;
  return resident;
}

}  // namespace tenbin::cuda
