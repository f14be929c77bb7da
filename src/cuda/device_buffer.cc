// Growable device and pinned host scratch buffers (see device_buffer.h).
#include "cuda/device_buffer.h"

#include <cstdio>
#include <string>

#include "cuda/check.h"

namespace tenbin::cuda {
namespace {

// Round growth up so that a slowly growing batch does not reallocate every step.
size_t grown(size_t bytes) {
  constexpr size_t kGranule = size_t{2} << 20;
  return (bytes + bytes / 4 + kGranule - 1) / kGranule * kGranule;
}

}  // namespace

std::string describe_bytes(size_t bytes) {
  return fmt::format("{:.2f} GiB ({} bytes)", static_cast<double>(bytes) / (1 << 30), bytes);
}

DeviceBuffer::~DeviceBuffer() {
  if (data_ != nullptr) {
    const cudaError_t err = cudaFree(data_);
    if (err != cudaSuccess && err != cudaErrorCudartUnloading) {
      std::fprintf(stderr, "tenbin cuda: cudaFree of a scratch buffer failed: %s\n",
                   cudaGetErrorString(err));
    }
  }
}

Status DeviceBuffer::reserve(size_t bytes, cudaStream_t stream, std::string_view what) {
  if (bytes <= capacity_) return Status::Ok();
  if (data_ != nullptr) {
    TENBIN_CUDA_CHECK(cudaStreamSynchronize(stream));
    TENBIN_CUDA_CHECK(cudaFree(data_));
    data_ = nullptr;
    capacity_ = 0;
  }
  size_t size = grown(bytes);
  cudaError_t err = cudaMalloc(&data_, size);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    size = bytes;  // retry without the growth margin
    err = cudaMalloc(&data_, size);
  }
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    data_ = nullptr;
    return Status::Errorf("cannot allocate {} of device memory for {}: {}", describe_bytes(bytes),
                          what, cudaGetErrorString(err));
  }
  capacity_ = size;
  return Status::Ok();
}

void DeviceBuffer::reserve_or_die(size_t bytes, cudaStream_t stream, std::string_view what) {
  const Status status = reserve(bytes, stream, what);
  if (!status.ok()) fatal_error(status.message().c_str(), __FILE__, __LINE__);
}

PinnedBuffer::~PinnedBuffer() {
  if (data_ != nullptr) {
    const cudaError_t err = cudaFreeHost(data_);
    if (err != cudaSuccess && err != cudaErrorCudartUnloading) {
      std::fprintf(stderr, "tenbin cuda: cudaFreeHost failed: %s\n", cudaGetErrorString(err));
    }
  }
}

Status PinnedBuffer::reserve(size_t bytes, std::string_view what) {
  if (bytes <= capacity_) return Status::Ok();
  if (data_ != nullptr) {
    TENBIN_CUDA_CHECK(cudaFreeHost(data_));
    data_ = nullptr;
    capacity_ = 0;
  }
  const size_t size = grown(bytes);
  const cudaError_t err = cudaMallocHost(&data_, size);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    data_ = nullptr;
    return Status::Errorf("cannot allocate {} of pinned host memory for {}: {}",
                          describe_bytes(bytes), what, cudaGetErrorString(err));
  }
  capacity_ = size;
  return Status::Ok();
}

}  // namespace tenbin::cuda
