// Read-only view of a GGUF v2/v3 file: metadata key/values and tensor descriptors whose data
// points into the memory-mapped file (weights are used in place, never copied). Every
// structural problem is refused with a message naming the file, the field and the value.
// Thread-safety: immutable after open(); safe to share between threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tensor/dtype.h"
#include "util/mmap_file.h"
#include "util/status.h"

namespace tenbin {

// On-disk ids of GGUF metadata value types.
enum class GgufType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

// Short name of a metadata value type as `tenbin inspect` prints it: "u32", "string", ...
std::string_view gguf_type_name(GgufType type);
// Name of an on-disk tensor type id, including ids this build cannot compute with
// ("IQ4_NL"); "unknown" for ids no GGUF writer uses.
std::string_view ggml_type_name(uint32_t raw_type);

// One metadata value. Integers keep their sign and width in `type`; arrays hold their
// elements (all of `array_type`) in `items`.
struct GgufValue {
  GgufType type = GgufType::kUint32;
  uint64_t u = 0;  // unsigned integers and bool
  int64_t i = 0;   // signed integers
  double f = 0;    // float32/float64
  std::string str;
  GgufType array_type = GgufType::kUint8;
  std::vector<GgufValue> items;

  bool is_integer() const;
  bool is_number() const;                 // integer, float or bool
  std::optional<int64_t> as_int() const;  // any integer type that fits in int64
  std::optional<double> as_double() const;

  static GgufValue of_u32(uint32_t v);
  static GgufValue of_i32(int32_t v);
  static GgufValue of_u64(uint64_t v);
  static GgufValue of_f32(float v);
  static GgufValue of_bool(bool v);
  static GgufValue of_string(std::string v);
  static GgufValue of_array(GgufType elem_type, std::vector<GgufValue> items);
};

struct GgufTensor {
  std::string name;
  DType type = DType::kF32;
  std::vector<int64_t> dims;  // ne[0] first: ne[0] is the contiguous (row) dimension
  uint64_t offset = 0;        // relative to the start of the tensor data section
  const uint8_t* data = nullptr;
  int64_t n_elements = 0;
  int64_t n_bytes = 0;

  int64_t rows() const;  // product of dims[1..]
  int64_t cols() const { return dims.empty() ? 1 : dims[0]; }
};

class GgufFile {
 public:
  // Maps and parses `path`. Errors name the file, the field and the offending value.
  static Expected<std::unique_ptr<GgufFile>> open(const std::string& path);
  // Parses a buffer the caller keeps alive (fuzzing, tests). `name` labels error messages.
  static Expected<std::unique_ptr<GgufFile>> parse(const uint8_t* data, size_t size,
                                                   const std::string& name);

  uint32_t version() const { return version_; }
  const std::string& path() const { return name_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  size_t file_size() const { return size_; }

  const std::map<std::string, GgufValue>& metadata() const { return kv_; }
  const std::vector<std::string>& metadata_order() const { return kv_order_; }  // file order
  const GgufValue* find(const std::string& key) const;

  // Typed getters: nullopt when the key is absent or has an incompatible type.
  std::optional<int64_t> get_int(const std::string& key) const;
  std::optional<double> get_float(const std::string& key) const;
  std::optional<bool> get_bool(const std::string& key) const;
  std::optional<std::string> get_string(const std::string& key) const;
  std::optional<std::vector<std::string>> get_string_array(const std::string& key) const;
  std::optional<std::vector<float>> get_float_array(const std::string& key) const;
  std::optional<std::vector<int64_t>> get_int_array(const std::string& key) const;

  // `general.architecture`, or "" when absent.
  std::string architecture() const;

  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* tensor(const std::string& name) const;

 private:
  GgufFile() = default;
  friend class GgufParser;

  std::unique_ptr<MmapFile> mapping_;
  std::string name_;
  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::map<std::string, GgufValue> kv_;
  std::vector<std::string> kv_order_;
  std::vector<GgufTensor> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

}  // namespace tenbin
