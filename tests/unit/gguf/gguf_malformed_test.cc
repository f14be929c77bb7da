// Malformed GGUF files, written byte by byte into a temp folder: each must be refused with a
// message that names the file, the field and the offending value. Also every prefix of a real
// file (truncation) must be refused without a crash.
#include <limits>

#include <gtest/gtest.h>

#include "model/gguf/gguf_file.h"
#include "unit/gguf/gguf_test_bytes.h"
#include "unit/test_data.h"

namespace tenbin {
namespace {

using test::GgufBytes;

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

// Writes `bytes` to a temp file, opens it and returns the error message ("" when it opened).
std::string open_error(const std::vector<uint8_t>& bytes, const std::string& name = "bad.gguf") {
  test::TempDir dir;
  const std::string path = dir.write(name, bytes);
  Expected<std::unique_ptr<GgufFile>> file = GgufFile::open(path);
  if (file.ok()) return "";
  EXPECT_NE(file.status().message().find(path), std::string::npos) << file.status().message();
  return file.status().message();
}

void expect_error(const GgufBytes& b, std::initializer_list<const char*> words) {
  const std::string message = open_error(b.bytes);
  ASSERT_FALSE(message.empty()) << "the file was accepted";
  for (const char* word : words) {
    EXPECT_NE(message.find(word), std::string::npos) << "'" << word << "' not in: " << message;
  }
}

// A header with one key "general.name" whose value the caller appends.
GgufBytes one_string_key(uint64_t length) {
  GgufBytes b;
  b.header(0, 1).key("general.name", 8).u64(length);
  return b;
}

// One tensor "t" with the given dims, type and offset, and 4 KiB of data.
GgufBytes one_tensor(const std::vector<uint64_t>& dims, uint32_t type = 0, uint64_t offset = 0) {
  GgufBytes b;
  b.header(1, 0).tensor_info("t", dims, type, offset).pad_to(32).zeros(4096);
  return b;
}

TEST(GgufMalformed, MinimalFileIsValid) {
  EXPECT_EQ(open_error(test::minimal_gguf().bytes), "");
}

TEST(GgufMalformed, Magic) {
  GgufBytes b = test::minimal_gguf();
  b.bytes[3] = 'X';
  expect_error(b, {"bad magic", "0x58554747", "expected 'GGUF'"});
  expect_error(GgufBytes(), {"0 bytes", "too small"});
}

TEST(GgufMalformed, Versions) {
  expect_error(test::minimal_gguf(1), {"version 1", "not supported"});
  expect_error(test::minimal_gguf(99), {"version 99", "expected 2 or 3"});
  expect_error(test::minimal_gguf(0x03000000), {"0x03000000", "big-endian"});
}

TEST(GgufMalformed, AbsurdCounts) {
  GgufBytes kv;
  kv.header(0, kU64Max).zeros(1176);
  expect_error(kv, {"kv count 18446744073709551615 is absurd for a 1200-byte file"});
  GgufBytes tensors;
  tensors.header(uint64_t{1} << 40, 0).zeros(100);
  expect_error(tensors, {"tensor count 1099511627776 is absurd"});
  GgufBytes array;
  array.header(0, 1).key("tokenizer.ggml.tokens", 9).u32(8).u64(uint64_t{1} << 50).zeros(64);
  expect_error(array, {"'tokenizer.ggml.tokens'", "1125899906842624", "cannot fit"});
}

TEST(GgufMalformed, Strings) {
  GgufBytes key_len;
  key_len.header(0, 1).u64(uint64_t{1} << 62).zeros(16);
  expect_error(key_len, {"key #0", "string length 4611686018427387904", "exceeds"});
  GgufBytes value = one_string_key(kU64Max);
  expect_error(value, {"key #0 ('general.name')", "string length 18446744073709551615"});
  GgufBytes cut = one_string_key(10);
  cut.zeros(3);
  expect_error(cut, {"'general.name'", "string length 10", "3 bytes left"});
  GgufBytes empty_key;
  empty_key.header(0, 1).key("", 4).u32(1);
  expect_error(empty_key, {"key #0", "empty"});
}

TEST(GgufMalformed, TruncatedValue) {
  GgufBytes b;
  b.header(0, 2).kv_u32("a.b", 1).key("general.count", 10).u32(0);  // a u64 cut in half
  expect_error(b, {"truncated while reading value of key #1 ('general.count')"});
}

TEST(GgufMalformed, MetadataTypes) {
  GgufBytes b;
  b.header(0, 2).kv_u32("general.ok", 1).key("general.weird", 77).u32(0);
  expect_error(b, {"key #1 ('general.weird')", "unknown metadata value type 77"});
  GgufBytes elem;
  elem.header(0, 1).key("general.list", 9).u32(13).u64(1).u32(0);
  expect_error(elem, {"'general.list'", "unknown metadata value type 13"});
  GgufBytes boolean;
  boolean.header(0, 1).key("general.flag", 7).raw<uint8_t>(2);
  expect_error(boolean, {"'general.flag'", "bool value 2"});
  GgufBytes deep;
  deep.header(0, 1).key("general.deep", 9);
  for (int level = 0; level < 20; ++level) deep.u32(9).u64(1);
  deep.u32(0).u64(0);
  expect_error(deep, {"'general.deep'", "nested deeper"});
}

TEST(GgufMalformed, DuplicateNames) {
  GgufBytes keys;
  keys.header(0, 2).kv_u32("general.x", 1).kv_u32("general.x", 2);
  expect_error(keys, {"duplicate key 'general.x'", "key #1"});
  GgufBytes tensors;
  tensors.header(2, 0).tensor_info("t", {8}, 0, 0).tensor_info("t", {8}, 0, 32).pad_to(32);
  tensors.zeros(64);
  expect_error(tensors, {"duplicate tensor name 't'"});
}

TEST(GgufMalformed, Dims) {
  expect_error(one_tensor({}), {"tensor 't'", "n_dims 0"});
  expect_error(one_tensor({1, 1, 1, 1, 1}), {"tensor 't'", "n_dims 5"});
  expect_error(one_tensor({8, 0}), {"tensor 't'", "dim 1 is 0"});
  expect_error(one_tensor({uint64_t(-5)}), {"tensor 't'", "18446744073709551611", "negative"});
  expect_error(one_tensor({uint64_t{1} << 32, uint64_t{1} << 32}),
               {"tensor 't'", "4294967296, 4294967296", "overflows int64"});
  expect_error(one_tensor({uint64_t{1} << 40, uint64_t{1} << 22}, 0),
               {"tensor 't'", "overflows int64"});  // elements fit, bytes do not
  expect_error(one_tensor({uint64_t{1} << 62}, 0), {"tensor 't'", "overflows int64"});  // one row
}

TEST(GgufMalformed, TensorTypes) {
  expect_error(one_tensor({32}, 99), {"tensor 't'", "type 99 (unknown) is not supported"});
  expect_error(one_tensor({32}, 20), {"tensor 't'", "type 20 (IQ4_NL) is not supported"});
  expect_error(one_tensor({10, 2}, 2), {"tensor 't'", "row of 10 elements", "q4_0 block size 32"});
}

TEST(GgufMalformed, Alignment) {
  for (uint32_t bad : {3u, 0u}) {
    GgufBytes b;
    b.header(0, 1).kv_u32("general.alignment", bad);
    expect_error(b,
                 {fmt::format("general.alignment {} is not a nonzero power of two", bad).c_str()});
  }
  GgufBytes str;
  str.header(0, 1).kv_string("general.alignment", "32");
  expect_error(str, {"general.alignment has type string"});
  GgufBytes ok;
  ok.header(1, 1).kv_u32("general.alignment", 64).tensor_info("t", {8}, 0, 0).pad_to(64).zeros(32);
  Expected<std::unique_ptr<GgufFile>> file = GgufFile::parse(ok.bytes.data(), ok.bytes.size(), "a");
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_EQ((*file)->alignment(), 64u);
  EXPECT_EQ((*file)->data_offset() % 64, 0u);
}

TEST(GgufMalformed, TensorPlacement) {
  expect_error(one_tensor({8}, 0, 4),
               {"tensor 't'", "offset 4 is not a multiple of the alignment 32"});
  expect_error(one_tensor({2048}, 0, 0), {"tensor 't' extends past end of file", "size 8192"});
  expect_error(one_tensor({8}, 0, uint64_t{1} << 63), {"tensor 't' extends past end of file"});
  GgufBytes cut = test::minimal_gguf();
  cut.bytes.resize(cut.bytes.size() - 1);
  expect_error(cut, {"tensor 'w' extends past end of file", "size 64"});
  GgufBytes overlap;
  overlap.header(2, 0).tensor_info("a", {64}, 0, 0).tensor_info("b", {8}, 0, 32).pad_to(32);
  overlap.zeros(256);
  expect_error(overlap, {"'a'", "'b'", "overlap"});
}

// Every prefix of a real file is refused, by name, and never crashes.
TEST(GgufMalformed, TruncatedRealFile) {
  const std::string path = test::shared_path("models/stories260K.gguf");
  const std::vector<uint8_t> bytes = test::read_file_bytes(path);
  ASSERT_EQ(bytes.size(), 1185376u);
  auto full = GgufFile::parse(bytes.data(), bytes.size(), "stories260K.gguf");
  ASSERT_TRUE(full.ok()) << full.status().message();
  uint64_t data_end = 0;
  for (const GgufTensor& t : (*full)->tensors()) {
    data_end = std::max<uint64_t>(data_end, (*full)->data_offset() + t.offset + t.n_bytes);
  }
  ASSERT_EQ(data_end, bytes.size());
  const uint64_t header_end = (*full)->data_offset();

  std::vector<size_t> cuts;
  for (size_t cut = 0; cut < 64; ++cut) cuts.push_back(cut);  // the fixed header
  for (size_t i = 0; i < 100; ++i) cuts.push_back(64 + i * (header_end - 64) / 100);  // metadata
  for (size_t i = 0; i < 40; ++i) cuts.push_back(header_end + i * (data_end - header_end) / 40);
  cuts.push_back(data_end - 1);
  for (size_t cut : cuts) {
    SCOPED_TRACE(cut);
    auto file = GgufFile::parse(bytes.data(), cut, "stories260K.gguf");
    ASSERT_FALSE(file.ok());
    const std::string& message = file.status().message();
    EXPECT_EQ(message.rfind("stories260K.gguf: ", 0), 0u) << message;
    if (cut >= header_end) {
      EXPECT_NE(message.find("extends past end of file"), std::string::npos) << message;
    }
  }
  // A few through real files too, as a user would meet them.
  for (size_t cut : {size_t{3}, size_t{25}, size_t{5000}, size_t{header_end + 100}}) {
    EXPECT_NE(open_error({bytes.begin(), bytes.begin() + cut}, "cut.gguf"), "");
  }
}

}  // namespace
}  // namespace tenbin
