// Writes standard GGUF v3 files: metadata key/values (every value type, arrays included),
// tensor descriptors and tensor data, each tensor aligned to `general.alignment` (default 32).
// Tensor data either comes from memory the caller keeps alive until write(), or is produced in
// pieces by a callback so multi-GB models stream to disk without being held in RAM.
// Not thread-safe; one writer builds one file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/gguf/gguf_file.h"
#include "tensor/dtype.h"
#include "util/status.h"

namespace tenbin {

// Receives the next piece of a tensor's bytes during write().
using GgufSink = std::function<Status(const void* data, size_t bytes)>;
// Called once during write(); must pass exactly the tensor's byte count to `sink`, in order.
using GgufProducer = std::function<Status(const GgufSink& sink)>;

class GgufWriter {
 public:
  static constexpr uint64_t kDefaultAlignment = 32;

  // Adds or replaces a metadata value. New keys keep insertion order; a replaced key keeps
  // its original position.
  void set(const std::string& key, GgufValue value);
  void remove(const std::string& key);
  const GgufValue* find(const std::string& key) const;
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }

  // Sets `general.alignment` (a power of two); 32 removes the key, as 32 is the default.
  Status set_alignment(uint64_t alignment);

  // A tensor whose bytes live at `data` (kept alive by the caller until write()).
  // `bytes` must equal row_bytes(type, dims[0]) * product(dims[1..]).
  Status add_tensor(const std::string& name, DType type, const std::vector<int64_t>& dims,
                    const void* data, size_t bytes);
  // A tensor whose bytes `producer` emits during write().
  Status add_tensor(const std::string& name, DType type, const std::vector<int64_t>& dims,
                    GgufProducer producer);

  struct TensorInfo {
    std::string name;
    DType type = DType::kF32;
    std::vector<int64_t> dims;  // ne[0] first
    uint64_t bytes = 0;
  };
  size_t tensor_count() const { return tensors_.size(); }
  const TensorInfo& tensor_info(size_t i) const { return tensors_[i].info; }

  // Writes to `path` + ".tmp", then renames it to `path`; the temporary file is removed on
  // failure. Errors name the path and the system error.
  Status write(const std::string& path) const;

  // Bytes of a tensor of `type` and `dims`; an error when dims are invalid for the type.
  static Expected<uint64_t> tensor_bytes(const std::string& name, DType type,
                                         const std::vector<int64_t>& dims);

 private:
  struct Tensor {
    TensorInfo info;
    GgufProducer producer;
  };
  Expected<uint64_t> alignment() const;

  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<Tensor> tensors_;
};

}  // namespace tenbin
