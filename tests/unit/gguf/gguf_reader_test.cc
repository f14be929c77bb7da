// Reads the real GGUF files of the shared folder and checks values listed in its MANIFEST.md,
// then the typed getters on a file that holds every metadata value type.
#include <cmath>
#include <filesystem>
#include <limits>

#include <gtest/gtest.h>

#include "model/gguf/gguf_file.h"
#include "unit/gguf/gguf_test_bytes.h"
#include "unit/test_data.h"

namespace tenbin {
namespace {

using test::GgufBytes;
using test::shared_path;

std::unique_ptr<GgufFile> open_or_fail(const std::string& path) {
  Expected<std::unique_ptr<GgufFile>> file = GgufFile::open(path);
  EXPECT_TRUE(file.ok()) << file.status().message();
  return file.ok() ? std::move(*file) : nullptr;
}

TEST(GgufReader, Stories260K) {
  auto file = open_or_fail(shared_path("models/stories260K.gguf"));
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->version(), 3u);
  EXPECT_EQ(file->alignment(), 32u);  // no general.alignment key: the default
  EXPECT_EQ(file->data_offset() % 32, 0u);
  EXPECT_EQ(file->file_size(), 1185376u);
  EXPECT_EQ(file->architecture(), "llama");
  EXPECT_EQ(file->get_int("llama.embedding_length"), 64);
  EXPECT_EQ(file->get_int("llama.block_count"), 5);
  EXPECT_EQ(file->get_int("llama.attention.head_count"), 8);
  EXPECT_EQ(file->get_int("llama.attention.head_count_kv"), 4);
  EXPECT_EQ(file->get_int("llama.feed_forward_length"), 172);
  EXPECT_EQ(file->get_int("llama.rope.dimension_count"), 8);
  EXPECT_EQ(file->get_int("llama.context_length"), 2048);
  ASSERT_TRUE(file->get_float("llama.attention.layer_norm_rms_epsilon"));
  EXPECT_NEAR(*file->get_float("llama.attention.layer_norm_rms_epsilon"), 1e-5, 1e-9);
  EXPECT_EQ(file->get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(file->find("tokenizer.ggml.pre"), nullptr);
  EXPECT_EQ(file->get_int("tokenizer.ggml.unknown_token_id"), 0);
  EXPECT_EQ(file->get_int("tokenizer.ggml.bos_token_id"), 1);
  EXPECT_EQ(file->get_int("tokenizer.ggml.eos_token_id"), 2);

  auto tokens = file->get_string_array("tokenizer.ggml.tokens");
  ASSERT_TRUE(tokens);
  EXPECT_EQ(tokens->size(), 512u);
  EXPECT_EQ((*tokens)[1], "<s>");
  auto scores = file->get_float_array("tokenizer.ggml.scores");
  ASSERT_TRUE(scores);
  EXPECT_EQ(scores->size(), 512u);
  auto token_types = file->get_int_array("tokenizer.ggml.token_type");
  ASSERT_TRUE(token_types);
  EXPECT_EQ(token_types->size(), 512u);
  // Wrong-type requests answer nullopt rather than converting.
  EXPECT_FALSE(file->get_string("llama.block_count"));
  EXPECT_FALSE(file->get_int("general.architecture"));
  EXPECT_FALSE(file->get_int_array("tokenizer.ggml.tokens"));
  EXPECT_FALSE(file->get_int("no.such.key"));

  ASSERT_EQ(file->tensors().size(), 48u);
  int64_t params = 0;
  for (const GgufTensor& t : file->tensors()) {
    EXPECT_EQ(t.type, DType::kF32) << t.name;
    EXPECT_EQ(t.n_bytes, t.n_elements * 4) << t.name;
    EXPECT_EQ(t.offset % 32, 0u) << t.name;
    params += t.n_elements;
  }
  EXPECT_EQ(params, 292800);
  const GgufTensor* embd = file->tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->dims, (std::vector<int64_t>{64, 512}));
  EXPECT_EQ(embd->cols(), 64);
  EXPECT_EQ(embd->rows(), 512);
  EXPECT_NE(file->tensor("blk.4.ffn_down.weight"), nullptr);
  EXPECT_EQ(file->tensor("blk.5.ffn_down.weight"), nullptr);
  EXPECT_EQ(file->metadata_order().size(), file->metadata().size());
  EXPECT_EQ(file->metadata_order().front(), "tokenizer.ggml.tokens");  // file order
}

TEST(GgufReader, LlamaTinyRandom) {
  auto file = open_or_fail(shared_path("models/llama-2-tiny-random.gguf"));
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->architecture(), "llama");
  EXPECT_EQ(file->get_string("general.name"), "LLaMA v2");
  EXPECT_EQ(file->get_int("llama.embedding_length"), 8);
  EXPECT_EQ(file->get_int("llama.block_count"), 1);
  EXPECT_EQ(file->get_int("llama.context_length"), 4096);
  EXPECT_EQ(file->get_string_array("tokenizer.ggml.tokens")->size(), 32000u);
  ASSERT_EQ(file->tensors().size(), 12u);
  int f16 = 0;
  int f32 = 0;
  int64_t params = 0;
  for (const GgufTensor& t : file->tensors()) {
    f16 += t.type == DType::kF16;
    f32 += t.type == DType::kF32;
    params += t.n_elements;
  }
  EXPECT_EQ(f16, 9);
  EXPECT_EQ(f32, 3);
  EXPECT_EQ(params, 513048);
}

TEST(GgufReader, AllSyntheticModelsLoad) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(shared_path("models/synthetic"))) {
    if (entry.path().extension() != ".gguf") continue;
    SCOPED_TRACE(entry.path().filename().string());
    auto file = open_or_fail(entry.path().string());
    ASSERT_NE(file, nullptr);
    EXPECT_GT(file->tensors().size(), 0u);
    EXPECT_FALSE(file->architecture().empty());
    ++count;
  }
  EXPECT_GE(count, 14);
  auto llama = open_or_fail(shared_path("models/synthetic/mini-llama-random-q4_k_m.gguf"));
  ASSERT_NE(llama, nullptr);
  EXPECT_EQ(llama->get_int("llama.embedding_length"), 256);
  EXPECT_EQ(llama->get_int("llama.block_count"), 4);
  auto qwen = open_or_fail(shared_path("models/synthetic/mini-qwen2-random-f16.gguf"));
  ASSERT_NE(qwen, nullptr);
  EXPECT_EQ(qwen->architecture(), "qwen2");
  EXPECT_TRUE(qwen->get_string("tokenizer.chat_template"));
  EXPECT_NEAR(*qwen->get_float("qwen2.rope.freq_base"), 1e6, 1e-3);
}

struct VocabCase {
  const char* file;
  const char* arch;
  size_t n_vocab;
  size_t n_merges;  // 0: the file has no merges
};

TEST(GgufReader, VocabFilesLoad) {
  const VocabCase cases[] = {
      {"ggml-vocab-bert-bge.gguf", "bert", 30522, 0},
      {"ggml-vocab-deepseek-coder.gguf", "llama", 32256, 31757},
      {"ggml-vocab-deepseek-llm.gguf", "llama", 102400, 99757},
      {"ggml-vocab-falcon.gguf", "falcon", 65024, 64784},
      {"ggml-vocab-gpt-2.gguf", "gpt2", 50257, 50000},
      {"ggml-vocab-llama-spm.gguf", "llama", 32000, 0},
      {"ggml-vocab-mpt.gguf", "mpt", 50432, 50009},
      {"ggml-vocab-phi-3.gguf", "phi3", 32064, 0},
      {"ggml-vocab-refact.gguf", "refact", 49216, 48891},
      {"ggml-vocab-starcoder.gguf", "starcoder2", 49152, 48872},
  };
  for (const VocabCase& c : cases) {
    SCOPED_TRACE(c.file);
    auto file = open_or_fail(shared_path(std::string("models/vocab/") + c.file));
    ASSERT_NE(file, nullptr);
    EXPECT_EQ(file->tensors().size(), 0u);
    EXPECT_EQ(file->architecture(), c.arch);
    auto tokens = file->get_string_array("tokenizer.ggml.tokens");
    ASSERT_TRUE(tokens);
    EXPECT_EQ(tokens->size(), c.n_vocab);
    auto merges = file->get_string_array("tokenizer.ggml.merges");
    EXPECT_EQ(merges ? merges->size() : 0u, c.n_merges);
  }
}

// Every metadata value type, with widths and signs the typed getters must convert.
GgufBytes all_types_gguf() {
  GgufBytes b;
  b.header(0, 17);
  b.key("u8", 0).raw<uint8_t>(200);
  b.key("i8", 1).raw<int8_t>(-100);
  b.key("u16", 2).raw<uint16_t>(60000);
  b.key("i16", 3).raw<int16_t>(-30000);
  b.key("u32", 4).u32(4000000000u);
  b.key("i32", 5).raw<int32_t>(-2000000000);
  b.key("f32", 6).raw<float>(0.5f);
  b.key("bool", 7).raw<uint8_t>(1);
  b.key("str", 8).str("hello");
  b.key("u64", 10).u64(std::numeric_limits<uint64_t>::max());
  b.key("i64", 11).raw<int64_t>(-5);
  b.key("f64", 12).raw<double>(1e300);
  b.key("ints", 9).u32(5).u64(3).raw<int32_t>(-1).raw<int32_t>(0).raw<int32_t>(7);
  b.key("floats", 9).u32(6).u64(2).raw<float>(1.5f).raw<float>(-2.0f);
  b.key("strs", 9).u32(8).u64(2).str("a").str("");
  b.key("nested", 9).u32(9).u64(2).u32(0).u64(1).raw<uint8_t>(9).u32(8).u64(0);
  b.key("big_u64s", 9).u32(10).u64(1).u64(std::numeric_limits<uint64_t>::max());
  return b;
}

TEST(GgufReader, TypedGetters) {
  GgufBytes b = all_types_gguf();
  auto parsed = GgufFile::parse(b.bytes.data(), b.bytes.size(), "types.gguf");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  const GgufFile& f = **parsed;
  EXPECT_EQ(f.data_offset(), b.bytes.size() + (32 - b.bytes.size() % 32) % 32);
  EXPECT_EQ(f.get_int("u8"), 200);
  EXPECT_EQ(f.get_int("i8"), -100);
  EXPECT_EQ(f.get_int("u16"), 60000);
  EXPECT_EQ(f.get_int("i16"), -30000);
  EXPECT_EQ(f.get_int("u32"), 4000000000);
  EXPECT_EQ(f.get_int("i32"), -2000000000);
  EXPECT_EQ(f.get_int("i64"), -5);
  EXPECT_FALSE(f.get_int("u64"));  // does not fit in int64
  EXPECT_EQ(f.find("u64")->u, std::numeric_limits<uint64_t>::max());
  EXPECT_FALSE(f.get_int("f32"));
  EXPECT_EQ(f.get_float("f32"), 0.5);
  EXPECT_EQ(f.get_float("f64"), 1e300);
  EXPECT_EQ(f.get_float("i8"), -100.0);
  EXPECT_EQ(f.get_bool("bool"), true);
  EXPECT_FALSE(f.get_bool("u8"));
  EXPECT_EQ(f.get_string("str"), "hello");
  EXPECT_EQ(f.get_int_array("ints"), (std::vector<int64_t>{-1, 0, 7}));
  EXPECT_EQ(f.get_float_array("ints"), (std::vector<float>{-1, 0, 7}));
  EXPECT_EQ(f.get_float_array("floats"), (std::vector<float>{1.5f, -2.0f}));
  EXPECT_FALSE(f.get_int_array("floats"));
  EXPECT_EQ(f.get_string_array("strs"), (std::vector<std::string>{"a", ""}));
  EXPECT_FALSE(f.get_string_array("ints"));
  EXPECT_FALSE(f.get_int_array("big_u64s"));
  const GgufValue* nested = f.find("nested");
  ASSERT_NE(nested, nullptr);
  ASSERT_EQ(nested->items.size(), 2u);
  EXPECT_EQ(nested->items[0].array_type, GgufType::kUint8);
  EXPECT_EQ(nested->items[0].items.at(0).u, 9u);
  EXPECT_EQ(nested->items[1].array_type, GgufType::kString);
  EXPECT_EQ(f.metadata_order().front(), "u8");
  EXPECT_EQ(f.metadata_order().back(), "big_u64s");
  EXPECT_TRUE(f.tensors().empty());
}

TEST(GgufReader, MinimalFileVersions2And3) {
  for (uint32_t version : {2u, 3u}) {
    GgufBytes b = test::minimal_gguf(version);
    auto parsed = GgufFile::parse(b.bytes.data(), b.bytes.size(), "min.gguf");
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    EXPECT_EQ((*parsed)->version(), version);
    const GgufTensor* w = (*parsed)->tensor("w");
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->n_bytes, 64);
    EXPECT_EQ(w->data, b.bytes.data() + (*parsed)->data_offset());
  }
}

TEST(GgufReader, ValueFactories) {
  EXPECT_EQ(GgufValue::of_u32(7).as_int(), 7);
  EXPECT_EQ(GgufValue::of_i32(-7).as_int(), -7);
  EXPECT_EQ(GgufValue::of_u64(9).as_double(), 9.0);
  EXPECT_EQ(GgufValue::of_f32(0.25f).as_double(), 0.25);
  EXPECT_TRUE(GgufValue::of_bool(true).is_number());
  EXPECT_FALSE(GgufValue::of_bool(true).is_integer());
  EXPECT_EQ(GgufValue::of_string("x").str, "x");
  GgufValue arr = GgufValue::of_array(GgufType::kUint32, {GgufValue::of_u32(1)});
  EXPECT_EQ(arr.type, GgufType::kArray);
  EXPECT_EQ(arr.items.size(), 1u);
  EXPECT_EQ(gguf_type_name(GgufType::kFloat32), "f32");
  EXPECT_EQ(ggml_type_name(20), "IQ4_NL");
  EXPECT_EQ(ggml_type_name(999), "unknown");
}

}  // namespace
}  // namespace tenbin
