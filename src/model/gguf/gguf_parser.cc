// GGUF v2/v3 parser: header, metadata key/values, tensor infos and the data section.
// The input is untrusted: every read is bounds-checked (memcpy, never a cast of an unaligned
// pointer), every count is checked against the bytes left before anything is allocated, and
// every failure names the file, the field and the offending value.
#include <algorithm>
#include <cstring>
#include <limits>

#include <fmt/ranges.h>

#include "model/gguf/gguf_file.h"

namespace tenbin {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // the bytes "GGUF" read as a little-endian u32
constexpr uint64_t kDefaultAlignment = 32;
constexpr uint64_t kMaxAlignment = uint64_t{1} << 30;
constexpr int kMaxArrayDepth = 8;
constexpr uint32_t kMaxDims = 4;
// Smallest possible encodings, used to refuse counts that cannot fit in the bytes left.
constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;  // key len, 1-byte key, type, u8
constexpr uint64_t kMinTensorInfoBytes =
    8 + 1 + 4 + 8 + 4 + 8;  // name, n_dims, 1 dim, type, offset

// Bounds-checked little-endian reads from an untrusted buffer.
class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  template <class T>
  bool read(T* out) {
    if (remaining() < sizeof(T)) return false;
    std::memcpy(out, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }

  bool read_bytes(size_t n, std::string* out) {
    if (remaining() < n) return false;
    out->assign(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return true;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

bool is_known_value_type(uint32_t raw) {
  return raw <= static_cast<uint32_t>(GgufType::kFloat64);
}

uint64_t min_value_bytes(GgufType type) {
  switch (type) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kBool:
      return 1;
    case GgufType::kUint16:
    case GgufType::kInt16:
      return 2;
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kFloat32:
      return 4;
    case GgufType::kUint64:
    case GgufType::kInt64:
    case GgufType::kFloat64:
    case GgufType::kString:
      return 8;  // the length prefix
    case GgufType::kArray:
      return 12;  // element type + count
  }
  return 1;
}

// Where in the file a value is being read; turned into words only when something fails.
struct Where {
  uint64_t key_index = 0;
  const std::string* key = nullptr;
  uint64_t item = 0;
  bool in_array = false;

  std::string describe() const {
    std::string s = fmt::format("value of key #{} ('{}')", key_index, key ? *key : "");
    if (in_array) s += fmt::format(" item {}", item);
    return s;
  }
};

}  // namespace

std::string_view ggml_type_name(uint32_t raw_type) {
  static constexpr std::string_view kNames[] = {
      "F32",   "F16",        "Q4_0",       "Q4_1",       "Q4_2",     "Q4_3",     "Q5_0",
      "Q5_1",  "Q8_0",       "Q8_1",       "Q2_K",       "Q3_K",     "Q4_K",     "Q5_K",
      "Q6_K",  "Q8_K",       "IQ2_XXS",    "IQ2_XS",     "IQ3_XXS",  "IQ1_S",    "IQ4_NL",
      "IQ3_S", "IQ2_S",      "IQ4_XS",     "I8",         "I16",      "I32",      "I64",
      "F64",   "IQ1_M",      "BF16",       "Q4_0_4_4",   "Q4_0_4_8", "Q4_0_8_8", "TQ1_0",
      "TQ2_0", "IQ4_NL_4_4", "IQ4_NL_4_8", "IQ4_NL_8_8", "MXFP4"};
  if (raw_type < std::size(kNames)) return kNames[raw_type];
  return "unknown";
}

class GgufParser {
 public:
  explicit GgufParser(GgufFile& file) : file_(file), in_(file.base_, file.size_) {}

  Status run() {
    uint64_t tensor_count = 0;
    uint64_t kv_count = 0;
    TENBIN_RETURN_IF_ERROR(parse_header(&tensor_count, &kv_count));
    for (uint64_t k = 0; k < kv_count; ++k) TENBIN_RETURN_IF_ERROR(parse_kv(k));
    TENBIN_RETURN_IF_ERROR(read_alignment());
    if (tensor_count > in_.remaining() / kMinTensorInfoBytes) {
      return fail("tensor count {} cannot fit in the {} bytes left after the metadata",
                  tensor_count, in_.remaining());
    }
    file_.tensors_.reserve(tensor_count);
    for (uint64_t t = 0; t < tensor_count; ++t) TENBIN_RETURN_IF_ERROR(parse_tensor_info(t));
    const uint64_t a = file_.alignment_;
    file_.data_offset_ = (in_.pos() + a - 1) / a * a;
    return place_tensors();
  }

 private:
  template <class... Args>
  Status fail(fmt::format_string<Args...> format, Args&&... args) const {
    return Status::Error(file_.name_ + ": " + fmt::format(format, std::forward<Args>(args)...));
  }

  Status truncated(std::string_view what) const {
    return fail("truncated while reading {} (at offset {}, file size {})", what, in_.pos(),
                file_.size_);
  }

  Status parse_header(uint64_t* tensor_count, uint64_t* kv_count) {
    uint32_t magic = 0;
    if (!in_.read(&magic)) {
      return fail("file is {} bytes, too small to be a GGUF file (truncated while reading magic)",
                  file_.size_);
    }
    if (magic != kMagic) return fail("bad magic 0x{:08X} (expected 'GGUF')", magic);
    uint32_t version = 0;
    if (!in_.read(&version)) return truncated("version");
    if (version != 2 && version != 3) {
      if ((version & 0xFFFF) == 0 && version != 0) {
        return fail(
            "version field 0x{:08X} looks byte-swapped: big-endian GGUF files are not supported "
            "(only little-endian)",
            version);
      }
      if (version == 1) {
        return fail("GGUF version 1 is not supported (expected 2 or 3); re-convert the model");
      }
      return fail("unsupported GGUF version {} (expected 2 or 3)", version);
    }
    file_.version_ = version;
    if (!in_.read(tensor_count)) return truncated("tensor count");
    if (!in_.read(kv_count)) return truncated("kv count");
    if (*kv_count > in_.remaining() / kMinKvBytes) {
      return fail("kv count {} is absurd for a {}-byte file", *kv_count, file_.size_);
    }
    if (*tensor_count > in_.remaining() / kMinTensorInfoBytes) {
      return fail("tensor count {} is absurd for a {}-byte file", *tensor_count, file_.size_);
    }
    file_.kv_order_.reserve(*kv_count);
    return Status::Ok();
  }

  // `what` returns the field's description; called only on failure (vocabularies hold 100k+
  // strings, so describing each up front would cost more than parsing it).
  template <class Describe>
  Status parse_string(Describe what, std::string* out) {
    uint64_t length = 0;
    if (!in_.read(&length)) return truncated("the length of " + what());
    if (length > in_.remaining()) {
      return fail("{}: string length {} exceeds the {} bytes left in the file", what(), length,
                  in_.remaining());
    }
    in_.read_bytes(length, out);
    return Status::Ok();
  }

  Status parse_kv(uint64_t index) {
    std::string key;
    TENBIN_RETURN_IF_ERROR(parse_string([&] { return fmt::format("key #{}", index); }, &key));
    if (key.empty()) return fail("key #{} is an empty string", index);
    if (file_.kv_.count(key) != 0) return fail("duplicate key '{}' (key #{})", key, index);
    Where where{index, &key};
    uint32_t raw_type = 0;
    if (!in_.read(&raw_type)) return truncated(fmt::format("type of key #{} ('{}')", index, key));
    if (!is_known_value_type(raw_type)) {
      return fail("key #{} ('{}'): unknown metadata value type {}", index, key, raw_type);
    }
    GgufValue value;
    TENBIN_RETURN_IF_ERROR(parse_value(static_cast<GgufType>(raw_type), 0, where, &value));
    file_.kv_order_.push_back(key);
    file_.kv_.emplace(std::move(key), std::move(value));
    return Status::Ok();
  }

  Status parse_value(GgufType type, int depth, Where& where, GgufValue* out) {
    out->type = type;
    bool ok = true;
    switch (type) {
      case GgufType::kUint8: {
        uint8_t v = 0;
        ok = in_.read(&v);
        out->u = v;
        break;
      }
      case GgufType::kInt8: {
        int8_t v = 0;
        ok = in_.read(&v);
        out->i = v;
        break;
      }
      case GgufType::kUint16: {
        uint16_t v = 0;
        ok = in_.read(&v);
        out->u = v;
        break;
      }
      case GgufType::kInt16: {
        int16_t v = 0;
        ok = in_.read(&v);
        out->i = v;
        break;
      }
      case GgufType::kUint32: {
        uint32_t v = 0;
        ok = in_.read(&v);
        out->u = v;
        break;
      }
      case GgufType::kInt32: {
        int32_t v = 0;
        ok = in_.read(&v);
        out->i = v;
        break;
      }
      case GgufType::kUint64:
        ok = in_.read(&out->u);
        break;
      case GgufType::kInt64:
        ok = in_.read(&out->i);
        break;
      case GgufType::kFloat32: {
        float v = 0;
        ok = in_.read(&v);
        out->f = v;
        break;
      }
      case GgufType::kFloat64:
        ok = in_.read(&out->f);
        break;
      case GgufType::kBool: {
        uint8_t v = 0;
        ok = in_.read(&v);
        if (ok && v > 1) return fail("{}: bool value {} (expected 0 or 1)", where.describe(), v);
        out->u = v;
        break;
      }
      case GgufType::kString:
        return parse_string([&] { return where.describe(); }, &out->str);
      case GgufType::kArray:
        return parse_array(depth, where, out);
    }
    if (!ok) return truncated(where.describe());
    return Status::Ok();
  }

  Status parse_array(int depth, Where& where, GgufValue* out) {
    if (depth >= kMaxArrayDepth) {
      return fail("{}: arrays nested deeper than {} levels", where.describe(), kMaxArrayDepth);
    }
    uint32_t raw_elem = 0;
    if (!in_.read(&raw_elem)) return truncated("the element type of " + where.describe());
    if (!is_known_value_type(raw_elem)) {
      return fail("{}: unknown metadata value type {} for array elements", where.describe(),
                  raw_elem);
    }
    const auto elem = static_cast<GgufType>(raw_elem);
    uint64_t count = 0;
    if (!in_.read(&count)) return truncated("the element count of " + where.describe());
    if (count > in_.remaining() / min_value_bytes(elem)) {
      return fail("{}: array of {} {} items cannot fit in the {} bytes left", where.describe(),
                  count, gguf_type_name(elem), in_.remaining());
    }
    out->array_type = elem;
    out->items.resize(count);
    const bool was_in_array = where.in_array;
    const uint64_t outer_item = where.item;
    where.in_array = true;
    for (uint64_t i = 0; i < count; ++i) {
      where.item = i;
      TENBIN_RETURN_IF_ERROR(parse_value(elem, depth + 1, where, &out->items[i]));
    }
    where.in_array = was_in_array;
    where.item = outer_item;
    return Status::Ok();
  }

  Status read_alignment() {
    const GgufValue* value = file_.find("general.alignment");
    if (value == nullptr) {
      file_.alignment_ = kDefaultAlignment;
      return Status::Ok();
    }
    if (!value->is_integer()) {
      return fail("general.alignment has type {} (expected u32)", gguf_type_name(value->type));
    }
    const std::optional<int64_t> a = value->as_int();
    if (!a || *a <= 0 || (*a & (*a - 1)) != 0 || static_cast<uint64_t>(*a) > kMaxAlignment) {
      const std::string shown = value->type == GgufType::kInt8 || value->type == GgufType::kInt16 ||
                                        value->type == GgufType::kInt32 ||
                                        value->type == GgufType::kInt64
                                    ? std::to_string(value->i)
                                    : std::to_string(value->u);
      return fail("general.alignment {} is not a nonzero power of two (at most {})", shown,
                  kMaxAlignment);
    }
    file_.alignment_ = static_cast<uint64_t>(*a);
    return Status::Ok();
  }

  Status parse_tensor_info(uint64_t index) {
    GgufTensor t;
    TENBIN_RETURN_IF_ERROR(
        parse_string([&] { return fmt::format("name of tensor #{}", index); }, &t.name));
    if (t.name.empty()) return fail("tensor #{} has an empty name", index);
    if (file_.tensor_index_.count(t.name) != 0) {
      return fail("duplicate tensor name '{}' (tensor #{})", t.name, index);
    }
    uint32_t n_dims = 0;
    if (!in_.read(&n_dims)) return truncated(fmt::format("n_dims of tensor '{}'", t.name));
    if (n_dims == 0 || n_dims > kMaxDims) {
      return fail("tensor '{}' has n_dims {} (expected 1..{})", t.name, n_dims, kMaxDims);
    }
    int64_t n_elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t dim = 0;
      if (!in_.read(&dim)) return truncated(fmt::format("dim {} of tensor '{}'", d, t.name));
      if (dim == 0) return fail("tensor '{}' dim {} is 0", t.name, d);
      if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return fail("tensor '{}' dim {} is {} (negative as int64: {})", t.name, d, dim,
                    static_cast<int64_t>(dim));
      }
      t.dims.push_back(static_cast<int64_t>(dim));
      if (__builtin_mul_overflow(n_elements, static_cast<int64_t>(dim), &n_elements)) {
        return fail("tensor '{}': the product of dims [{}] overflows int64", t.name,
                    fmt::join(t.dims, ", "));
      }
    }
    t.n_elements = n_elements;
    uint32_t raw_type = 0;
    if (!in_.read(&raw_type)) return truncated(fmt::format("type of tensor '{}'", t.name));
    const std::optional<DTypeTraits> traits = dtype_traits(raw_type);
    if (!traits) {
      return fail("tensor '{}': type {} ({}) is not supported", t.name, raw_type,
                  ggml_type_name(raw_type));
    }
    t.type = traits->type;
    // Computed here rather than with row_bytes() so that huge dims fail cleanly on overflow.
    if (t.dims[0] % traits->block_elems != 0) {
      return fail("tensor '{}': row of {} elements is not a multiple of the {} block size {}",
                  t.name, t.dims[0], traits->name, traits->block_elems);
    }
    int64_t row = 0;
    if (__builtin_mul_overflow(t.dims[0] / traits->block_elems, traits->block_bytes, &row) ||
        __builtin_mul_overflow(row, t.rows(), &t.n_bytes)) {
      return fail("tensor '{}': size in bytes of dims [{}] overflows int64", t.name,
                  fmt::join(t.dims, ", "));
    }
    if (!in_.read(&t.offset)) return truncated(fmt::format("offset of tensor '{}'", t.name));
    if (t.offset % file_.alignment_ != 0) {
      return fail("tensor '{}' offset {} is not a multiple of the alignment {}", t.name, t.offset,
                  file_.alignment_);
    }
    file_.tensor_index_.emplace(t.name, file_.tensors_.size());
    file_.tensors_.push_back(std::move(t));
    return Status::Ok();
  }

  // Checks every tensor lies inside the file and no two overlap, then points them at their data.
  Status place_tensors() {
    const uint64_t size = file_.size_;
    const uint64_t start = file_.data_offset_;
    for (GgufTensor& t : file_.tensors_) {
      const uint64_t bytes = static_cast<uint64_t>(t.n_bytes);
      if (start > size || t.offset > size - start || bytes > size - start - t.offset) {
        return fail(
            "tensor '{}' extends past end of file (offset {} in the data section at {}, size {}, "
            "file size {})",
            t.name, t.offset, start, bytes, size);
      }
      t.data = file_.base_ + start + t.offset;
    }
    std::vector<const GgufTensor*> by_offset;
    by_offset.reserve(file_.tensors_.size());
    for (const GgufTensor& t : file_.tensors_) by_offset.push_back(&t);
    std::sort(by_offset.begin(), by_offset.end(),
              [](const GgufTensor* a, const GgufTensor* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
      const GgufTensor& prev = *by_offset[i - 1];
      const GgufTensor& next = *by_offset[i];
      if (next.offset < prev.offset + static_cast<uint64_t>(prev.n_bytes)) {
        return fail("tensors '{}' (offset {}, size {}) and '{}' (offset {}) overlap", prev.name,
                    prev.offset, prev.n_bytes, next.name, next.offset);
      }
    }
    return Status::Ok();
  }

  GgufFile& file_;
  Cursor in_;
};

Expected<std::unique_ptr<GgufFile>> GgufFile::parse(const uint8_t* data, size_t size,
                                                    const std::string& name) {
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->name_ = name;
  file->base_ = data;
  file->size_ = data == nullptr ? 0 : size;
  GgufParser parser(*file);
  Status status = parser.run();
  if (!status.ok()) return status;
  return file;
}

Expected<std::unique_ptr<GgufFile>> GgufFile::open(const std::string& path) {
  Expected<std::unique_ptr<MmapFile>> mapping = MmapFile::open(path);
  if (!mapping.ok()) return mapping.status();
  Expected<std::unique_ptr<GgufFile>> file = parse((*mapping)->data(), (*mapping)->size(), path);
  if (!file.ok()) return file.status();
  (*file)->mapping_ = std::move(*mapping);
  return file;
}

}  // namespace tenbin
