// GgufValue conversions and the read-only accessors of GgufFile. Parsing lives in
// gguf_parser.cc.
#include <limits>

#include "model/gguf/gguf_file.h"

namespace tenbin {
namespace {

bool is_unsigned_integer(GgufType t) {
  return t == GgufType::kUint8 || t == GgufType::kUint16 || t == GgufType::kUint32 ||
         t == GgufType::kUint64;
}

bool is_signed_integer(GgufType t) {
  return t == GgufType::kInt8 || t == GgufType::kInt16 || t == GgufType::kInt32 ||
         t == GgufType::kInt64;
}

bool is_float(GgufType t) {
  return t == GgufType::kFloat32 || t == GgufType::kFloat64;
}

}  // namespace

std::string_view gguf_type_name(GgufType type) {
  switch (type) {
    case GgufType::kUint8:
      return "u8";
    case GgufType::kInt8:
      return "i8";
    case GgufType::kUint16:
      return "u16";
    case GgufType::kInt16:
      return "i16";
    case GgufType::kUint32:
      return "u32";
    case GgufType::kInt32:
      return "i32";
    case GgufType::kFloat32:
      return "f32";
    case GgufType::kBool:
      return "bool";
    case GgufType::kString:
      return "string";
    case GgufType::kArray:
      return "array";
    case GgufType::kUint64:
      return "u64";
    case GgufType::kInt64:
      return "i64";
    case GgufType::kFloat64:
      return "f64";
  }
  return "unknown";
}

bool GgufValue::is_integer() const {
  return is_unsigned_integer(type) || is_signed_integer(type);
}

bool GgufValue::is_number() const {
  return is_integer() || is_float(type) || type == GgufType::kBool;
}

std::optional<int64_t> GgufValue::as_int() const {
  if (is_signed_integer(type)) return i;
  if (is_unsigned_integer(type)) {
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  return std::nullopt;
}

std::optional<double> GgufValue::as_double() const {
  if (is_float(type)) return f;
  if (is_signed_integer(type)) return static_cast<double>(i);
  if (is_unsigned_integer(type)) return static_cast<double>(u);
  return std::nullopt;
}

GgufValue GgufValue::of_u32(uint32_t v) {
  GgufValue value;
  value.type = GgufType::kUint32;
  value.u = v;
  return value;
}

GgufValue GgufValue::of_i32(int32_t v) {
  GgufValue value;
  value.type = GgufType::kInt32;
  value.i = v;
  return value;
}

GgufValue GgufValue::of_u64(uint64_t v) {
  GgufValue value;
  value.type = GgufType::kUint64;
  value.u = v;
  return value;
}

GgufValue GgufValue::of_f32(float v) {
  GgufValue value;
  value.type = GgufType::kFloat32;
  value.f = v;
  return value;
}

GgufValue GgufValue::of_bool(bool v) {
  GgufValue value;
  value.type = GgufType::kBool;
  value.u = v ? 1 : 0;
  return value;
}

GgufValue GgufValue::of_string(std::string v) {
  GgufValue value;
  value.type = GgufType::kString;
  value.str = std::move(v);
  return value;
}

GgufValue GgufValue::of_array(GgufType elem_type, std::vector<GgufValue> items) {
  GgufValue value;
  value.type = GgufType::kArray;
  value.array_type = elem_type;
  value.items = std::move(items);
  return value;
}

int64_t GgufTensor::rows() const {
  int64_t rows = 1;
  for (size_t d = 1; d < dims.size(); ++d) rows *= dims[d];
  return rows;
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

std::optional<int64_t> GgufFile::get_int(const std::string& key) const {
  const GgufValue* v = find(key);
  return v == nullptr ? std::nullopt : v->as_int();
}

std::optional<double> GgufFile::get_float(const std::string& key) const {
  const GgufValue* v = find(key);
  return v == nullptr ? std::nullopt : v->as_double();
}

std::optional<bool> GgufFile::get_bool(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr || v->type != GgufType::kBool) return std::nullopt;
  return v->u != 0;
}

std::optional<std::string> GgufFile::get_string(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr || v->type != GgufType::kString) return std::nullopt;
  return v->str;
}

std::optional<std::vector<std::string>> GgufFile::get_string_array(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr || v->type != GgufType::kArray || v->array_type != GgufType::kString) {
    return std::nullopt;
  }
  std::vector<std::string> out;
  out.reserve(v->items.size());
  for (const GgufValue& item : v->items) out.push_back(item.str);
  return out;
}

std::optional<std::vector<float>> GgufFile::get_float_array(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr || v->type != GgufType::kArray) return std::nullopt;
  if (!is_float(v->array_type) && !is_unsigned_integer(v->array_type) &&
      !is_signed_integer(v->array_type)) {
    return std::nullopt;
  }
  std::vector<float> out;
  out.reserve(v->items.size());
  for (const GgufValue& item : v->items) out.push_back(static_cast<float>(*item.as_double()));
  return out;
}

std::optional<std::vector<int64_t>> GgufFile::get_int_array(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr || v->type != GgufType::kArray) return std::nullopt;
  if (!is_unsigned_integer(v->array_type) && !is_signed_integer(v->array_type)) {
    return std::nullopt;
  }
  std::vector<int64_t> out;
  out.reserve(v->items.size());
  for (const GgufValue& item : v->items) {
    std::optional<int64_t> n = item.as_int();
    if (!n) return std::nullopt;  // a u64 above INT64_MAX
    out.push_back(*n);
  }
  return out;
}

std::string GgufFile::architecture() const {
  return get_string("general.architecture").value_or("");
}

const GgufTensor* GgufFile::tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace tenbin
