// Test helpers that write GGUF files byte by byte, so tests can build valid minimal files
// and every kind of malformed one, to be written into a test::TempDir (unit/test_util.h).
// Independent of the project's GGUF writer on purpose: the reader is checked against the spec.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "unit/test_util.h"  // TempDir, for tests that write these bytes to files

namespace tenbin::test {

class GgufBytes {
 public:
  template <class T>
  GgufBytes& raw(T value) {
    const size_t at = bytes.size();
    bytes.resize(at + sizeof(T));
    std::memcpy(bytes.data() + at, &value, sizeof(T));
    return *this;
  }
  GgufBytes& u32(uint32_t v) { return raw(v); }
  GgufBytes& u64(uint64_t v) { return raw(v); }
  GgufBytes& str(const std::string& s) {
    u64(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
    return *this;
  }
  GgufBytes& header(uint64_t tensor_count, uint64_t kv_count, uint32_t version = 3) {
    bytes.insert(bytes.end(), {'G', 'G', 'U', 'F'});
    return u32(version).u64(tensor_count).u64(kv_count);
  }
  // A key and its value type; the caller appends the value.
  GgufBytes& key(const std::string& name, uint32_t type) { return str(name).u32(type); }
  GgufBytes& kv_u32(const std::string& name, uint32_t v) { return key(name, 4).u32(v); }
  GgufBytes& kv_string(const std::string& name, const std::string& v) {
    return key(name, 8).str(v);
  }
  GgufBytes& tensor_info(const std::string& name, const std::vector<uint64_t>& dims, uint32_t type,
                         uint64_t offset) {
    str(name).u32(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) u64(d);
    return u32(type).u64(offset);
  }
  GgufBytes& pad_to(size_t alignment) {
    while (bytes.size() % alignment != 0) bytes.push_back(0);
    return *this;
  }
  GgufBytes& zeros(size_t n) {
    bytes.insert(bytes.end(), n, 0);
    return *this;
  }

  std::vector<uint8_t> bytes;
};

// A valid file: architecture "llama", one F32 tensor "w" of shape [8, 2] (64 bytes of data).
inline GgufBytes minimal_gguf(uint32_t version = 3) {
  GgufBytes b;
  b.header(1, 2, version).kv_string("general.architecture", "llama").kv_u32("llama.block_count", 1);
  b.tensor_info("w", {8, 2}, 0, 0).pad_to(32).zeros(64);
  return b;
}

inline std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace tenbin::test
