// Tokenizer behaviour beyond the reference vectors: decode round trips, streaming
// detokenization of split characters, special-token parsing, end-of-generation ids, the
// tokenizers of the shared test models, and speed on a 4 KB text.
#include <gtest/gtest.h>

#include <chrono>

#include "unit/tokenizer/tokenizer_test_util.h"

namespace tenbin::test {
namespace {

std::string decode_all(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  std::string out;
  for (int32_t id : ids) out += tok.token_to_piece(id);
  return out;
}

std::string stream_all(const Tokenizer& tok, const std::vector<int32_t>& ids, bool strip) {
  StreamingDetokenizer detok(tok, strip);
  std::string out;
  for (int32_t id : ids) out += detok.push(id);
  return out + detok.flush();
}

class RoundTrip : public testing::TestWithParam<std::string> {};

TEST_P(RoundTrip, DecodeOfEncodeGivesTheInput) {
  const Tokenizer* tok = cached_tokenizer(GetParam());
  ASSERT_NE(tok, nullptr);
  const bool spm = tok->kind() == TokenizerKind::kSentencePiece;
  const auto cases = load_vocab_cases(shared_path("models/vocab/ggml-vocab-gpt-2.gguf.inp"),
                                      shared_path("models/vocab/ggml-vocab-gpt-2.gguf.out"));
  ASSERT_FALSE(cases.empty());
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string& text = cases[i].input;
    const std::vector<int32_t> ids = tok->encode(text, true, false);
    // SentencePiece adds one space in front of the text; decoding keeps it.
    const std::string expected = spm && !text.empty() ? " " + text : text;
    EXPECT_EQ(decode_all(*tok, ids), expected) << GetParam() << " case " << i;
    EXPECT_EQ(stream_all(*tok, ids, spm), text) << GetParam() << " case " << i << " (streamed)";
  }
}

INSTANTIATE_TEST_SUITE_P(Vocabs, RoundTrip,
                         testing::Values("vocab/llama-spm", "vocab/gpt-2", "vocab/falcon",
                                         "vocab/deepseek-llm", "vocab/mpt", "llama3", "qwen2"),
                         [](const auto& info) {
                           std::string n = info.param.substr(info.param.find('/') + 1);
                           for (char& c : n) c = isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return n;
                         });

TEST(StreamingDetokenizer, HoldsBackACharacterSplitAcrossByteTokens) {
  const Tokenizer* tok = cached_tokenizer("vocab/llama-spm");
  ASSERT_NE(tok, nullptr);
  // "🦙" has no piece in LLaMA's vocabulary: it is four byte tokens F0 9F A6 99.
  const std::vector<int32_t> ids = tok->encode("a🦙b", false, false);
  ASSERT_EQ(ids, (std::vector<int32_t>{263, 243, 162, 169, 156, 29890}));
  StreamingDetokenizer detok(*tok, /*strip_leading_space=*/true);
  EXPECT_EQ(detok.push(ids[0]), "a");
  EXPECT_EQ(detok.push(ids[1]), "");
  EXPECT_EQ(detok.push(ids[2]), "");
  EXPECT_EQ(detok.push(ids[3]), "");
  EXPECT_EQ(detok.push(ids[4]), "🦙");
  EXPECT_EQ(detok.push(ids[5]), "b");
  EXPECT_EQ(detok.flush(), "");
}

TEST(StreamingDetokenizer, InvalidAndUnfinishedBytesBecomeReplacementCharacters) {
  const Tokenizer* tok = cached_tokenizer("vocab/llama-spm");
  ASSERT_NE(tok, nullptr);
  const int32_t f0 = 3 + 0xF0, x9f = 3 + 0x9F, x41 = 3 + 0x41, x80 = 3 + 0x80;
  StreamingDetokenizer detok(*tok);
  EXPECT_EQ(detok.push(f0), "");
  EXPECT_EQ(detok.push(x9f), "");
  // 'A' cannot continue the sequence: the broken start is replaced, 'A' comes through.
  EXPECT_EQ(detok.push(x41),
            "\xEF\xBF\xBD"
            "A");
  EXPECT_EQ(detok.push(x80), "\xEF\xBF\xBD");  // a stray continuation byte
  EXPECT_EQ(detok.push(f0), "");
  EXPECT_EQ(detok.flush(), "\xEF\xBF\xBD");  // unfinished at the end
  EXPECT_EQ(detok.flush(), "");
}

TEST(SpecialTokens, ParsedOnlyWhenAsked) {
  const Tokenizer* tok = cached_tokenizer("qwen2");
  ASSERT_NE(tok, nullptr);
  ASSERT_EQ(tok->n_vocab(), 151646);
  EXPECT_EQ(tok->token_text(151644), "<|im_start|>");
  const std::vector<int32_t> user = tok->encode("user", false, false);
  std::vector<int32_t> expected = {151644};
  expected.insert(expected.end(), user.begin(), user.end());
  expected.push_back(151645);
  EXPECT_EQ(tok->encode("<|im_start|>user<|im_end|>", false, true), expected);

  const std::vector<int32_t> plain = tok->encode("<|im_start|>user", false, false);
  EXPECT_GT(plain.size(), 2u);
  for (int32_t id : plain) EXPECT_LT(id, 151643);
  EXPECT_EQ(decode_all(*tok, plain), "<|im_start|>user");
  EXPECT_EQ(tok->token_to_piece(151644), "");  // control tokens print nothing

  EXPECT_EQ(tok->encode("a<|endoftext|>", false, true).back(), 151643);
}

TEST(SpecialTokens, SentencePieceRestartsTheSpacePrefixAfterASpecialToken) {
  const Tokenizer* tok = cached_tokenizer("vocab/phi-3");
  ASSERT_NE(tok, nullptr);
  const std::vector<int32_t> ids = tok->encode("<|user|>\nHi<|end|>", true, true);
  ASSERT_GE(ids.size(), 4u);
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(ids[1], 32010);
  EXPECT_EQ(ids.back(), 32007);
  EXPECT_TRUE(tok->is_end_of_generation(32007));   // <|end|>
  EXPECT_TRUE(tok->is_end_of_generation(32000));   // eos <|endoftext|>
  EXPECT_FALSE(tok->is_end_of_generation(32010));  // <|user|>
}

TEST(EndOfGeneration, EosAndChatEndTokens) {
  const Tokenizer* spm = cached_tokenizer("vocab/llama-spm");
  ASSERT_NE(spm, nullptr);
  EXPECT_TRUE(spm->is_end_of_generation(2));
  EXPECT_FALSE(spm->is_end_of_generation(1));
  const Tokenizer* qwen = cached_tokenizer("qwen2");
  ASSERT_NE(qwen, nullptr);
  EXPECT_TRUE(qwen->is_end_of_generation(151643));
  EXPECT_TRUE(qwen->is_end_of_generation(151645));
  EXPECT_FALSE(qwen->is_end_of_generation(151644));
  EXPECT_EQ(qwen->eos_id(), 151643);
  EXPECT_EQ(qwen->bos_id(), -1);
  EXPECT_FALSE(qwen->adds_bos());
}

TEST(WordPiece, AddSpecialWrapsInClsAndSep) {
  const Tokenizer* tok = cached_tokenizer("vocab/bert-bge");
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->kind(), TokenizerKind::kWordPiece);
  EXPECT_EQ(tok->encode("Hello world", true, false), (std::vector<int32_t>{101, 7592, 2088, 102}));
  EXPECT_EQ(tok->encode("Hello world", false, false), (std::vector<int32_t>{7592, 2088}));
  EXPECT_EQ(tok->token_to_piece(7592), " hello");
}

TEST(ModelTokenizers, Stories260K) {
  const Tokenizer* tok = cached_tokenizer("gguf:models/stories260K.gguf");
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->kind(), TokenizerKind::kSentencePiece);
  EXPECT_EQ(tok->n_vocab(), 512);
  EXPECT_TRUE(tok->adds_bos());
  EXPECT_EQ(tok->encode("Once upon a time", true, false),
            (std::vector<int32_t>{1, 403, 407, 261, 378}));
  EXPECT_EQ(tok->encode("The cat sat on the mat and", true, false),
            (std::vector<int32_t>{1, 291, 280, 294, 262, 294, 353, 265, 284, 294, 269}));
}

TEST(ModelTokenizers, Llama2TinyRandom) {
  const Tokenizer* tok = cached_tokenizer("gguf:models/llama-2-tiny-random.gguf");
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->encode("Hello world", true, false), (std::vector<int32_t>{1, 15043, 3186}));
}

TEST(ModelTokenizers, MiniQwen2) {
  const Tokenizer* tok = cached_tokenizer("gguf:models/synthetic/mini-qwen2-random-f16.gguf");
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->kind(), TokenizerKind::kBpe);
  EXPECT_EQ(tok->pre_tokenizer(), "qwen2");
  EXPECT_EQ(tok->encode("def fib(n): return", true, false),
            (std::vector<int32_t>{750, 15801, 1445, 1648, 470}));
  EXPECT_EQ(tok->encode("<|im_start|>", false, true), (std::vector<int32_t>{151644}));
  EXPECT_TRUE(tok->is_end_of_generation(151645));
}

TEST(Performance, FourKilobytesEncodeQuickly) {
  std::string text;
  const auto cases = load_vocab_cases(shared_path("models/vocab/ggml-vocab-gpt-2.gguf.inp"),
                                      shared_path("models/vocab/ggml-vocab-gpt-2.gguf.out"));
  ASSERT_FALSE(cases.empty());
  while (text.size() < 4096) {
    for (const auto& c : cases) text += c.input + " ";
  }
  text.resize(4096);
  for (const char* name : {"llama3", "vocab/llama-spm", "vocab/bert-bge", "vocab/deepseek-llm"}) {
    const Tokenizer* tok = cached_tokenizer(name);
    ASSERT_NE(tok, nullptr);
    double best_ms = 1e9;
    for (int run = 0; run < 3; ++run) {
      const auto start = std::chrono::steady_clock::now();
      const auto ids = tok->encode(text, false, false);
      const auto end = std::chrono::steady_clock::now();
      EXPECT_FALSE(ids.empty());
      best_ms = std::min(best_ms, std::chrono::duration<double, std::milli>(end - start).count());
    }
    std::printf("[ perf     ] %s: 4 KB in %.2f ms\n", name, best_ms);
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__)
    EXPECT_LT(best_ms, 10.0) << name;
#endif
  }
}

}  // namespace
}  // namespace tenbin::test

namespace tenbin::test {
namespace {

TEST(LongInputs, HugeWhitespaceRunsAndInvalidUtf8RoundTrip) {
  for (const char* name : {"llama3", "vocab/gpt-2", "vocab/llama-spm"}) {
    const Tokenizer* tok = cached_tokenizer(name);
    ASSERT_NE(tok, nullptr);
    const std::string text = std::string(200000, ' ') + "x\n\n" + std::string(50000, '\t') +
                             "y \xFF\xC3(z";  // invalid UTF-8 bytes inside
    const auto ids = tok->encode(text, false, false);
    std::string decoded;
    for (int32_t id : ids) decoded += tok->token_to_piece(id);
    if (tok->kind() == TokenizerKind::kSentencePiece) decoded.erase(0, 1);
    EXPECT_EQ(decoded, text) << name;
  }
}

}  // namespace
}  // namespace tenbin::test
