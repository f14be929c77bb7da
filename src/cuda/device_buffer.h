// Scratch memory the CUDA backend keeps between ops and grows on demand: device buffers (batch
// arrays, quantized activations, the f16 copy of a weight matrix, attention states) and the
// pinned host staging of the batch arrays. Growing discards the contents; it first waits for
// `stream` so that no queued op still reads the old allocation.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "util/status.h"

namespace tenbin::cuda {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  // Ensures at least `bytes`; an error naming `what` and the size when the device is out of
  // memory (the old buffer is then released too).
  Status reserve(size_t bytes, cudaStream_t stream, std::string_view what);
  // reserve() that aborts with the message on failure, for ops (which return void).
  void reserve_or_die(size_t bytes, cudaStream_t stream, std::string_view what);
  void* data() const { return data_; }
  template <class T>
  T* as() const {
    return static_cast<T*>(data_);
  }
  size_t capacity() const { return capacity_; }

 private:
  void* data_ = nullptr;
  size_t capacity_ = 0;
};

class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  ~PinnedBuffer();
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;

  // Ensures at least `bytes`; the caller makes sure no copy from the old buffer is pending.
  Status reserve(size_t bytes, std::string_view what);
  void* data() const { return data_; }
  template <class T>
  T* as() const {
    return static_cast<T*>(data_);
  }

 private:
  void* data_ = nullptr;
  size_t capacity_ = 0;
};

// "1.50 GiB (1610612736 bytes)", for messages.
std::string describe_bytes(size_t bytes);

}  // namespace tenbin::cuda
