#include "model/gguf/gguf_writer.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <utility>

#include <fmt/ranges.h>

namespace tenbin {
namespace {

constexpr uint32_t kGgufVersion = 3;
constexpr size_t kMaxDims = 4;  // GGML_MAX_DIMS
constexpr size_t kBufferBytes = size_t{4} << 20;

static_assert(std::endian::native == std::endian::little, "GGUF values are written as in memory");

// Buffered sequential file output that tracks the byte position (for alignment padding).
class FileOut {
 public:
  explicit FileOut(std::string path) : path_(std::move(path)) {}
  ~FileOut() {
    if (file_ != nullptr) std::fclose(file_);
  }

  Status open() {
    file_ = std::fopen(path_.c_str(), "wb");
    if (file_ == nullptr) return sys_error("cannot create");
    buffer_.resize(kBufferBytes);
    return Status::Ok();
  }

  Status write(const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    pos_ += n;
    while (n > 0) {
      if (used_ == buffer_.size()) TENBIN_RETURN_IF_ERROR(flush());
      if (used_ == 0 && n >= buffer_.size()) {  // large piece: bypass the buffer
        if (std::fwrite(p, 1, n, file_) != n) return sys_error("write failed");
        return Status::Ok();
      }
      size_t take = std::min(n, buffer_.size() - used_);
      std::memcpy(buffer_.data() + used_, p, take);
      used_ += take;
      p += take;
      n -= take;
    }
    return Status::Ok();
  }

  template <class T>
  Status pod(T v) {
    return write(&v, sizeof v);
  }
  Status str(const std::string& s) {
    TENBIN_RETURN_IF_ERROR(pod<uint64_t>(s.size()));
    return write(s.data(), s.size());
  }
  Status pad_to(uint64_t alignment) {
    static const uint8_t kZeros[256] = {};
    uint64_t rem = pos_ % alignment;
    while (rem != 0) {
      uint64_t n = std::min<uint64_t>(alignment - rem, sizeof kZeros);
      TENBIN_RETURN_IF_ERROR(write(kZeros, n));
      rem = pos_ % alignment;
    }
    return Status::Ok();
  }
  uint64_t pos() const { return pos_; }

  Status close() {
    TENBIN_RETURN_IF_ERROR(flush());
    if (std::fflush(file_) != 0) return sys_error("write failed");
    int rc = std::fclose(file_);
    file_ = nullptr;
    if (rc != 0) return sys_error("close failed");
    return Status::Ok();
  }

 private:
  Status flush() {
    if (used_ > 0 && std::fwrite(buffer_.data(), 1, used_, file_) != used_)
      return sys_error("write failed");
    used_ = 0;
    return Status::Ok();
  }
  Status sys_error(const char* what) const {
    return Status::Errorf("{}: {}: {}", path_, what, std::strerror(errno));
  }

  std::string path_;
  std::FILE* file_ = nullptr;
  std::vector<uint8_t> buffer_;
  size_t used_ = 0;
  uint64_t pos_ = 0;
};

Status write_scalar(FileOut& out, const GgufValue& v) {
  switch (v.type) {
    case GgufType::kUint8:
      return out.pod(static_cast<uint8_t>(v.u));
    case GgufType::kInt8:
      return out.pod(static_cast<int8_t>(v.i));
    case GgufType::kUint16:
      return out.pod(static_cast<uint16_t>(v.u));
    case GgufType::kInt16:
      return out.pod(static_cast<int16_t>(v.i));
    case GgufType::kUint32:
      return out.pod(static_cast<uint32_t>(v.u));
    case GgufType::kInt32:
      return out.pod(static_cast<int32_t>(v.i));
    case GgufType::kFloat32:
      return out.pod(static_cast<float>(v.f));
    case GgufType::kBool:
      return out.pod(static_cast<uint8_t>(v.u != 0 ? 1 : 0));
    case GgufType::kString:
      return out.str(v.str);
    case GgufType::kUint64:
      return out.pod(static_cast<uint64_t>(v.u));
    case GgufType::kInt64:
      return out.pod(static_cast<int64_t>(v.i));
    case GgufType::kFloat64:
      return out.pod(static_cast<double>(v.f));
    case GgufType::kArray:
      break;
  }
  return Status::Errorf("unknown value type {}", static_cast<uint32_t>(v.type));
}

// The value without its type tag (the caller wrote it); arrays write their element type,
// count and elements (arrays of arrays included).
Status write_payload(FileOut& out, const std::string& key, const GgufValue& v) {
  if (v.type != GgufType::kArray) {
    Status st = write_scalar(out, v);
    if (!st.ok()) return Status::Errorf("metadata '{}': {}", key, st.message());
    return st;
  }
  TENBIN_RETURN_IF_ERROR(out.pod(static_cast<uint32_t>(v.array_type)));
  TENBIN_RETURN_IF_ERROR(out.pod<uint64_t>(v.items.size()));
  for (const GgufValue& item : v.items) {
    if (item.type != v.array_type) {
      return Status::Errorf("metadata '{}': array of type {} holds an item of type {}", key,
                            static_cast<uint32_t>(v.array_type), static_cast<uint32_t>(item.type));
    }
    TENBIN_RETURN_IF_ERROR(write_payload(out, key, item));
  }
  return Status::Ok();
}

}  // namespace

void GgufWriter::set(const std::string& key, GgufValue value) {
  for (auto& [k, v] : kv_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  kv_.emplace_back(key, std::move(value));
}

void GgufWriter::remove(const std::string& key) {
  for (auto it = kv_.begin(); it != kv_.end(); ++it) {
    if (it->first == key) {
      kv_.erase(it);
      return;
    }
  }
}

const GgufValue* GgufWriter::find(const std::string& key) const {
  for (const auto& [k, v] : kv_) {
    if (k == key) return &v;
  }
  return nullptr;
}

Status GgufWriter::set_alignment(uint64_t alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > (uint64_t{1} << 31)) {
    return Status::Errorf("general.alignment = {} must be a power of two", alignment);
  }
  if (alignment == kDefaultAlignment) {
    remove("general.alignment");
  } else {
    set("general.alignment", GgufValue::of_u32(static_cast<uint32_t>(alignment)));
  }
  return Status::Ok();
}

Expected<uint64_t> GgufWriter::alignment() const {
  const GgufValue* v = find("general.alignment");
  if (v == nullptr) return kDefaultAlignment;
  std::optional<int64_t> a = v->as_int();
  if (!a || *a <= 0 || (*a & (*a - 1)) != 0) {
    return Status::Error("metadata 'general.alignment' must be a positive power of two");
  }
  return static_cast<uint64_t>(*a);
}

Expected<uint64_t> GgufWriter::tensor_bytes(const std::string& name, DType type,
                                            const std::vector<int64_t>& dims) {
  if (!dtype_traits(static_cast<uint32_t>(type))) {
    return Status::Errorf("tensor '{}': unsupported type id {}", name, static_cast<uint32_t>(type));
  }
  if (dims.empty() || dims.size() > kMaxDims) {
    return Status::Errorf("tensor '{}': {} dimensions (must be 1..{})", name, dims.size(),
                          kMaxDims);
  }
  uint64_t rows = 1;
  for (size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] <= 0) return Status::Errorf("tensor '{}': dimension {} is {}", name, d, dims[d]);
    if (d > 0) {
      if (rows > (uint64_t{1} << 62) / static_cast<uint64_t>(dims[d]))
        return Status::Errorf("tensor '{}': too many elements", name);
      rows *= static_cast<uint64_t>(dims[d]);
    }
  }
  std::optional<int64_t> row = row_bytes(type, dims[0]);
  if (!row) {
    return Status::Errorf("tensor '{}': row length {} is not a multiple of the {} block size {}",
                          name, dims[0], dtype_name(type), traits(type).block_elems);
  }
  if (*row > 0 && rows > (uint64_t{1} << 62) / static_cast<uint64_t>(*row))
    return Status::Errorf("tensor '{}': too many bytes", name);
  return rows * static_cast<uint64_t>(*row);
}

Status GgufWriter::add_tensor(const std::string& name, DType type, const std::vector<int64_t>& dims,
                              const void* data, size_t bytes) {
  Expected<uint64_t> want = tensor_bytes(name, type, dims);
  if (!want.ok()) return want.status();
  if (*want != bytes) {
    return Status::Errorf("tensor '{}': {} bytes given, but {} with dims [{}] takes {}", name,
                          bytes, dtype_name(type), fmt::join(dims, ", "), *want);
  }
  if (data == nullptr && bytes > 0) return Status::Errorf("tensor '{}': no data", name);
  return add_tensor(name, type, dims,
                    [data, bytes](const GgufSink& sink) { return sink(data, bytes); });
}

Status GgufWriter::add_tensor(const std::string& name, DType type, const std::vector<int64_t>& dims,
                              GgufProducer producer) {
  if (name.empty()) return Status::Error("tensor with an empty name");
  for (const Tensor& t : tensors_) {
    if (t.info.name == name) return Status::Errorf("tensor '{}' added twice", name);
  }
  Expected<uint64_t> bytes = tensor_bytes(name, type, dims);
  if (!bytes.ok()) return bytes.status();
  tensors_.push_back(Tensor{TensorInfo{name, type, dims, *bytes}, std::move(producer)});
  return Status::Ok();
}

Status GgufWriter::write(const std::string& path) const {
  Expected<uint64_t> align = alignment();
  if (!align.ok()) return Status::Errorf("{}: {}", path, align.status().message());
  const std::string tmp = path + ".tmp";
  Status st = [&]() -> Status {
    FileOut out(tmp);
    TENBIN_RETURN_IF_ERROR(out.open());
    TENBIN_RETURN_IF_ERROR(out.write("GGUF", 4));
    TENBIN_RETURN_IF_ERROR(out.pod<uint32_t>(kGgufVersion));
    TENBIN_RETURN_IF_ERROR(out.pod<uint64_t>(tensors_.size()));
    TENBIN_RETURN_IF_ERROR(out.pod<uint64_t>(kv_.size()));
    for (const auto& [key, value] : kv_) {
      TENBIN_RETURN_IF_ERROR(out.str(key));
      TENBIN_RETURN_IF_ERROR(out.pod(static_cast<uint32_t>(value.type)));
      TENBIN_RETURN_IF_ERROR(write_payload(out, key, value));
    }
    uint64_t offset = 0;
    for (const Tensor& tensor : tensors_) {
      const TensorInfo& t = tensor.info;
      TENBIN_RETURN_IF_ERROR(out.str(t.name));
      TENBIN_RETURN_IF_ERROR(out.pod<uint32_t>(static_cast<uint32_t>(t.dims.size())));
      for (int64_t d : t.dims) TENBIN_RETURN_IF_ERROR(out.pod<uint64_t>(d));
      TENBIN_RETURN_IF_ERROR(out.pod(static_cast<uint32_t>(t.type)));
      TENBIN_RETURN_IF_ERROR(out.pod<uint64_t>(offset));
      offset += (t.bytes + *align - 1) / *align * *align;
    }
    TENBIN_RETURN_IF_ERROR(out.pad_to(*align));
    for (const Tensor& tensor : tensors_) {
      const TensorInfo& t = tensor.info;
      uint64_t emitted = 0;
      GgufSink sink = [&](const void* data, size_t n) -> Status {
        if (emitted + n > t.bytes) {
          return Status::Errorf("tensor '{}': producer emitted more than its {} bytes", t.name,
                                t.bytes);
        }
        emitted += n;
        return out.write(data, n);
      };
      Status produced = tensor.producer(sink);
      if (!produced.ok()) return produced;
      if (emitted != t.bytes) {
        return Status::Errorf("tensor '{}': producer emitted {} of its {} bytes", t.name, emitted,
                              t.bytes);
      }
      TENBIN_RETURN_IF_ERROR(out.pad_to(*align));
    }
    return out.close();
  }();
  if (!st.ok()) {
    std::remove(tmp.c_str());
    // File errors already name the temporary path; producer errors get the output path.
    if (st.message().rfind(tmp, 0) == 0) return st;
    return Status::Errorf("{}: {}", path, st.message());
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    Status err = Status::Errorf("{}: cannot rename {} to it: {}", path, tmp, std::strerror(errno));
    std::remove(tmp.c_str());
    return err;
  }
  return Status::Ok();
}

}  // namespace tenbin
