// Bad tokenizer metadata and files are refused with messages that name the key and value.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "model/gguf/gguf_writer.h"
#include "unit/tokenizer/tokenizer_test_util.h"

namespace tenbin::test {
namespace {

GgufValue strings(const std::vector<std::string>& items) {
  std::vector<GgufValue> values;
  for (const auto& s : items) values.push_back(GgufValue::of_string(s));
  return GgufValue::of_array(GgufType::kString, std::move(values));
}

GgufValue floats(const std::vector<float>& items) {
  std::vector<GgufValue> values;
  for (float f : items) values.push_back(GgufValue::of_f32(f));
  return GgufValue::of_array(GgufType::kFloat32, std::move(values));
}

// A small valid byte-level BPE vocabulary; tests then break one key.
GgufWriter bpe_writer() {
  GgufWriter w;
  w.set("general.architecture", GgufValue::of_string("gpt2"));
  w.set("tokenizer.ggml.model", GgufValue::of_string("gpt2"));
  w.set("tokenizer.ggml.pre", GgufValue::of_string("gpt-2"));
  w.set("tokenizer.ggml.tokens", strings({"a", "b", "ab", "Ġ", "Ġab"}));
  w.set("tokenizer.ggml.merges", strings({"a b", "Ġ ab"}));
  return w;
}

// Writes `w`, opens it and builds the tokenizer.
Expected<std::unique_ptr<Tokenizer>> build(const GgufWriter& w, const std::string& name) {
  const std::string path = testing::TempDir() + "tok_" + name + ".gguf";
  Status written = w.write(path);
  if (!written.ok()) return written;
  auto file = GgufFile::open(path);
  if (!file.ok()) return file.status();
  auto tok = Tokenizer::from_gguf(**file);
  std::filesystem::remove(path);
  return tok;
}

void expect_error(const Expected<std::unique_ptr<Tokenizer>>& result,
                  std::initializer_list<std::string_view> needles) {
  ASSERT_FALSE(result.ok());
  for (std::string_view n : needles) {
    EXPECT_NE(result.status().message().find(n), std::string::npos)
        << "message '" << result.status().message() << "' lacks '" << n << "'";
  }
}

TEST(TokenizerMetadata, SmallBpeVocabularyWorks) {
  auto tok = build(bpe_writer(), "ok");
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  EXPECT_EQ((*tok)->encode("ab ab", false, false), (std::vector<int32_t>{2, 4}));
  EXPECT_EQ((*tok)->token_to_piece(4), " ab");
}

TEST(TokenizerMetadata, UnknownModel) {
  GgufWriter w = bpe_writer();
  w.set("tokenizer.ggml.model", GgufValue::of_string("foo"));
  expect_error(build(w, "model"), {"tokenizer.ggml.model", "'foo'", "llama, gpt2, bert"});
}

TEST(TokenizerMetadata, MissingModel) {
  GgufWriter w = bpe_writer();
  w.remove("tokenizer.ggml.model");
  expect_error(build(w, "nomodel"), {"tokenizer.ggml.model"});
}

TEST(TokenizerMetadata, MissingTokens) {
  GgufWriter w = bpe_writer();
  w.remove("tokenizer.ggml.tokens");
  expect_error(build(w, "tokens"), {"tokenizer.ggml.tokens"});
}

TEST(TokenizerMetadata, TokensOfWrongType) {
  GgufWriter w = bpe_writer();
  w.set("tokenizer.ggml.tokens", floats({1.0f, 2.0f}));
  expect_error(build(w, "tokentype"), {"tokenizer.ggml.tokens", "array of strings"});
}

TEST(TokenizerMetadata, ScoresLengthMismatch) {
  GgufWriter w;
  w.set("tokenizer.ggml.model", GgufValue::of_string("llama"));
  w.set("tokenizer.ggml.tokens", strings({"<unk>", "<s>", "</s>", "▁a"}));
  w.set("tokenizer.ggml.scores", floats({0, 0, 0}));
  expect_error(build(w, "scores"), {"tokenizer.ggml.scores", "4", "got 3"});
}

TEST(TokenizerMetadata, UnknownPreTokenizer) {
  GgufWriter w = bpe_writer();
  w.set("tokenizer.ggml.pre", GgufValue::of_string("bogus"));
  expect_error(build(w, "pre"), {"tokenizer.ggml.pre", "'bogus'", "llama-bpe", "qwen2"});
}

TEST(TokenizerMetadata, DefaultPreTokenizerIsGpt2Style) {
  GgufWriter w = bpe_writer();
  w.set("tokenizer.ggml.pre", GgufValue::of_string("default"));
  auto tok = build(w, "default");
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  EXPECT_EQ((*tok)->pre_tokenizer(), "default");
  EXPECT_EQ((*tok)->encode("ab ab", false, false), (std::vector<int32_t>{2, 4}));
}

TEST(TokenizerMetadata, MissingMerges) {
  GgufWriter w = bpe_writer();
  w.remove("tokenizer.ggml.merges");
  expect_error(build(w, "merges"), {"tokenizer.ggml.merges"});
}

TEST(HfBpeFiles, MissingOrMalformedFiles) {
  Tokenizer::HfBpeOptions options;
  options.vocab_json_path = testing::TempDir() + "does_not_exist.json";
  options.merges_path = testing::TempDir() + "does_not_exist.txt";
  options.pre = "gpt-2";
  auto missing = Tokenizer::from_hf_bpe(options);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("does_not_exist.json"), std::string::npos);

  const std::string bad_json = testing::TempDir() + "tok_bad_vocab.json";
  std::ofstream(bad_json) << "{\"a\": 0, \"b\": ";
  options.vocab_json_path = bad_json;
  auto malformed = Tokenizer::from_hf_bpe(options);
  ASSERT_FALSE(malformed.ok());
  EXPECT_NE(malformed.status().message().find("tok_bad_vocab.json"), std::string::npos);

  options.pre = "bogus";
  auto bad_pre = Tokenizer::from_hf_bpe(options);
  ASSERT_FALSE(bad_pre.ok());
  EXPECT_NE(bad_pre.status().message().find("'bogus'"), std::string::npos);
  std::filesystem::remove(bad_json);
}

TEST(HfBpeFiles, SmallVocabularyWithVersionHeader) {
  const std::string vocab = testing::TempDir() + "tok_small_vocab.json";
  const std::string merges = testing::TempDir() + "tok_small_merges.txt";
  std::ofstream(vocab) << R"({"a": 0, "b": 1, "ab": 2, "Ġ": 3, "Ġab": 4})";
  std::ofstream(merges) << "#version: 0.2\na b\nĠ ab\n";
  Tokenizer::HfBpeOptions options{vocab, merges, "gpt-2", {"<|end|>"}, -1, 5, false};
  auto tok = Tokenizer::from_hf_bpe(options);
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  EXPECT_EQ((*tok)->n_vocab(), 6);
  EXPECT_EQ((*tok)->encode("ab ab<|end|>", false, true), (std::vector<int32_t>{2, 4, 5}));
  EXPECT_TRUE((*tok)->is_end_of_generation(5));
  std::filesystem::remove(vocab);
  std::filesystem::remove(merges);
}

}  // namespace
}  // namespace tenbin::test
