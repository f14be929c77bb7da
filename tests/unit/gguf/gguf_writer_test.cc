// GgufWriter: every metadata type and several tensor types survive a write + GgufFile::open
// round trip at alignments 32 and 64; streamed producers; and the errors users can hit.
#include "model/gguf/gguf_writer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "model/gguf/gguf_file.h"
#include "unit/test_util.h"

namespace tenbin {
namespace {

namespace fs = std::filesystem;

GgufValue scalar(GgufType type, uint64_t u, int64_t i, double f) {
  GgufValue v;
  v.type = type;
  v.u = u;
  v.i = i;
  v.f = f;
  return v;
}

// One value of every type, arrays of numbers, strings, bools, an empty and a nested array.
std::vector<std::pair<std::string, GgufValue>> all_kinds() {
  std::vector<std::pair<std::string, GgufValue>> kv;
  kv.emplace_back("t.u8", scalar(GgufType::kUint8, 200, 0, 0));
  kv.emplace_back("t.i8", scalar(GgufType::kInt8, 0, -100, 0));
  kv.emplace_back("t.u16", scalar(GgufType::kUint16, 60000, 0, 0));
  kv.emplace_back("t.i16", scalar(GgufType::kInt16, 0, -30000, 0));
  kv.emplace_back("t.u32", GgufValue::of_u32(4000000000u));
  kv.emplace_back("t.i32", GgufValue::of_i32(-2000000000));
  kv.emplace_back("t.f32", GgufValue::of_f32(1.5e-6f));
  kv.emplace_back("t.bool", GgufValue::of_bool(true));
  kv.emplace_back("t.string", GgufValue::of_string("h\xC3\xA9llo \xE2\x96\x81world"));
  kv.emplace_back("t.empty_string", GgufValue::of_string(""));
  kv.emplace_back("t.u64", GgufValue::of_u64(0xFEDCBA9876543210ull));
  kv.emplace_back("t.i64", scalar(GgufType::kInt64, 0, -(int64_t{1} << 60), 0));
  kv.emplace_back("t.f64", scalar(GgufType::kFloat64, 0, 0, 3.141592653589793));
  std::vector<GgufValue> strs, ints, floats, bools;
  for (int k = 0; k < 5; ++k) {
    strs.push_back(GgufValue::of_string("piece" + std::to_string(k)));
    ints.push_back(GgufValue::of_i32(-k * 7));
    floats.push_back(GgufValue::of_f32(0.25f * static_cast<float>(k)));
    bools.push_back(GgufValue::of_bool(k % 2 == 0));
  }
  kv.emplace_back("a.strings", GgufValue::of_array(GgufType::kString, strs));
  kv.emplace_back("a.i32", GgufValue::of_array(GgufType::kInt32, ints));
  kv.emplace_back("a.f32", GgufValue::of_array(GgufType::kFloat32, floats));
  kv.emplace_back("a.bool", GgufValue::of_array(GgufType::kBool, bools));
  kv.emplace_back("a.u8",
                  GgufValue::of_array(GgufType::kUint8, {scalar(GgufType::kUint8, 7, 0, 0)}));
  kv.emplace_back(
      "a.f64", GgufValue::of_array(GgufType::kFloat64, {scalar(GgufType::kFloat64, 0, 0, -2.5)}));
  kv.emplace_back("a.empty", GgufValue::of_array(GgufType::kUint32, {}));
  kv.emplace_back("a.nested", GgufValue::of_array(GgufType::kArray,
                                                  {GgufValue::of_array(GgufType::kInt32, ints),
                                                   GgufValue::of_array(GgufType::kInt32, {})}));
  return kv;
}

void expect_same(const GgufValue& want, const GgufValue& got, const std::string& key) {
  ASSERT_EQ(want.type, got.type) << key;
  switch (want.type) {
    case GgufType::kUint8:
    case GgufType::kUint16:
    case GgufType::kUint32:
    case GgufType::kUint64:
    case GgufType::kBool:
      EXPECT_EQ(want.u, got.u) << key;
      break;
    case GgufType::kInt8:
    case GgufType::kInt16:
    case GgufType::kInt32:
    case GgufType::kInt64:
      EXPECT_EQ(want.i, got.i) << key;
      break;
    case GgufType::kFloat32:
      EXPECT_EQ(static_cast<float>(want.f), got.f) << key;
      break;
    case GgufType::kFloat64:
      EXPECT_EQ(want.f, got.f) << key;
      break;
    case GgufType::kString:
      EXPECT_EQ(want.str, got.str) << key;
      break;
    case GgufType::kArray:
      ASSERT_EQ(want.array_type, got.array_type) << key;
      ASSERT_EQ(want.items.size(), got.items.size()) << key;
      for (size_t i = 0; i < want.items.size(); ++i) expect_same(want.items[i], got.items[i], key);
      break;
  }
}

struct TestTensor {
  std::string name;
  DType type;
  std::vector<int64_t> dims;
  std::vector<uint8_t> bytes;
};

std::vector<TestTensor> test_tensors() {
  std::mt19937 rng(7);
  auto make = [&](std::string name, DType type, std::vector<int64_t> dims) {
    uint64_t n = *GgufWriter::tensor_bytes(name, type, dims);
    std::vector<uint8_t> bytes(n);
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
    return TestTensor{std::move(name), type, std::move(dims), std::move(bytes)};
  };
  return {make("f32.weight", DType::kF32, {5, 3}),  make("f16.bias", DType::kF16, {7}),
          make("q8.weight", DType::kQ8_0, {64, 2}), make("q4.weight", DType::kQ4_0, {32, 3}),
          make("bf16.x", DType::kBF16, {4, 2, 2}),  make("q6k.weight", DType::kQ6_K, {256, 1})};
}

class GgufWriterRoundTrip : public ::testing::TestWithParam<uint64_t> {};

TEST_P(GgufWriterRoundTrip, EveryTypeAndTensorReadsBack) {
  const uint64_t alignment = GetParam();
  test::TempDir dir;
  const std::string path = dir.file("all.gguf");
  GgufWriter w;
  auto kv = all_kinds();
  for (const auto& [k, v] : kv) w.set(k, v);
  ASSERT_TRUE(w.set_alignment(alignment).ok());
  auto tensors = test_tensors();
  for (const TestTensor& t : tensors) {
    ASSERT_TRUE(w.add_tensor(t.name, t.type, t.dims, t.bytes.data(), t.bytes.size()).ok());
  }
  Status st = w.write(path);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  auto file = GgufFile::open(path);
  ASSERT_TRUE(file.ok()) << file.status().message();
  const GgufFile& f = **file;
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), alignment);
  EXPECT_EQ(f.data_offset() % alignment, 0u);
  EXPECT_EQ(f.find("general.alignment") != nullptr, alignment != 32);
  std::vector<std::string> order;
  for (const auto& [k, v] : kv) order.push_back(k);
  if (alignment != 32) order.push_back("general.alignment");
  EXPECT_EQ(f.metadata_order(), order);
  for (const auto& [k, v] : kv) {
    const GgufValue* got = f.find(k);
    ASSERT_NE(got, nullptr) << k;
    expect_same(v, *got, k);
  }
  ASSERT_EQ(f.tensors().size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const GgufTensor& g = f.tensors()[i];
    EXPECT_EQ(g.name, tensors[i].name);
    EXPECT_EQ(g.type, tensors[i].type);
    EXPECT_EQ(g.dims, tensors[i].dims);
    EXPECT_EQ(g.offset % alignment, 0u) << g.name;
    ASSERT_EQ(static_cast<size_t>(g.n_bytes), tensors[i].bytes.size()) << g.name;
    EXPECT_EQ(std::memcmp(g.data, tensors[i].bytes.data(), tensors[i].bytes.size()), 0) << g.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Alignments, GgufWriterRoundTrip, ::testing::Values(32, 64));

TEST(GgufWriter, SetReplacesInPlaceAndKeepsOrder) {
  GgufWriter w;
  w.set("a", GgufValue::of_u32(1));
  w.set("b", GgufValue::of_u32(2));
  w.set("a", GgufValue::of_string("x"));
  ASSERT_EQ(w.metadata().size(), 2u);
  EXPECT_EQ(w.metadata()[0].first, "a");
  EXPECT_EQ(w.metadata()[0].second.str, "x");
  w.remove("a");
  EXPECT_EQ(w.find("a"), nullptr);
  EXPECT_FALSE(w.set_alignment(48).ok());
  EXPECT_TRUE(w.set_alignment(32).ok());
  EXPECT_EQ(w.find("general.alignment"), nullptr);
}

TEST(GgufWriter, StreamedProducerWritesPiecesInOrder) {
  test::TempDir dir;
  const std::string path = dir.file("stream.gguf");
  std::vector<float> values(1000);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) * 0.5f;
  GgufWriter w;
  ASSERT_TRUE(w.add_tensor("s", DType::kF32, {100, 10}, [&](const GgufSink& sink) {
                 for (size_t off = 0; off < values.size(); off += 300) {
                   size_t n = std::min<size_t>(300, values.size() - off);
                   TENBIN_RETURN_IF_ERROR(sink(values.data() + off, n * sizeof(float)));
                 }
                 return Status::Ok();
               }).ok());
  ASSERT_TRUE(w.write(path).ok());
  auto file = GgufFile::open(path);
  ASSERT_TRUE(file.ok()) << file.status().message();
  const GgufTensor* t = (*file)->tensor("s");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(std::memcmp(t->data, values.data(), values.size() * sizeof(float)), 0);
}

TEST(GgufWriter, ShortProducerFailsAndLeavesNoFile) {
  test::TempDir dir;
  const std::string path = dir.file("short.gguf");
  GgufWriter w;
  ASSERT_TRUE(w.add_tensor("s", DType::kF32, {4}, [](const GgufSink& sink) {
                 float x[2] = {1, 2};
                 return sink(x, sizeof x);
               }).ok());
  Status st = w.write(path);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("'s'"), std::string::npos) << st.message();
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST(GgufWriter, RejectsBadTensors) {
  GgufWriter w;
  std::vector<uint8_t> buf(1024);
  EXPECT_FALSE(w.add_tensor("bytes", DType::kF32, {4, 4}, buf.data(), 60).ok());
  Status block = w.add_tensor("q", DType::kQ4_0, {33, 2}, buf.data(), 36);
  ASSERT_FALSE(block.ok());
  EXPECT_NE(block.message().find("block size 32"), std::string::npos) << block.message();
  EXPECT_FALSE(w.add_tensor("zero", DType::kF32, {0}, buf.data(), 0).ok());
  EXPECT_FALSE(w.add_tensor("five", DType::kF32, {1, 1, 1, 1, 1}, buf.data(), 4).ok());
  EXPECT_TRUE(w.add_tensor("ok", DType::kF32, {4}, buf.data(), 16).ok());
  EXPECT_FALSE(w.add_tensor("ok", DType::kF32, {4}, buf.data(), 16).ok());
}

TEST(GgufWriter, UnwritablePathNamesPathAndReason) {
  GgufWriter w;
  const std::string path = "/nonexistent-dir-for-tenbin/x.gguf";
  Status st = w.write(path);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(path), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("No such file"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace tenbin
