// Synthetic vocabularies: exact sizes, unique pieces, the byte and special tokens where real
// vocabularies have them, and BPE merges whose parts and results are all tokens.
#include "model/synth/vocab_gen.h"

#include <gtest/gtest.h>

#include <unordered_map>
#include <unordered_set>

namespace tenbin::synth {
namespace {

void expect_unique(const SynthVocab& v) {
  std::unordered_set<std::string> seen;
  for (const std::string& t : v.tokens) EXPECT_TRUE(seen.insert(t).second) << "duplicate " << t;
}

TEST(SynthVocab, SentencePieceLayout) {
  for (int64_t n : {512, 4096, 32000}) {
    auto v = make_vocab(VocabFamily::kSpm, ChatStyle::kLlama2, n);
    ASSERT_TRUE(v.ok()) << v.status().message();
    ASSERT_EQ(static_cast<int64_t>(v->tokens.size()), n);
    ASSERT_EQ(v->scores.size(), v->tokens.size());
    ASSERT_EQ(v->token_types.size(), v->tokens.size());
    EXPECT_EQ(v->model, "llama");
    EXPECT_EQ(v->tokens[0], "<unk>");
    EXPECT_EQ(v->tokens[1], "<s>");
    EXPECT_EQ(v->tokens[2], "</s>");
    EXPECT_EQ(v->tokens[3], "<0x00>");
    EXPECT_EQ(v->tokens[3 + 0x0A], "<0x0A>");
    EXPECT_EQ(v->tokens[258], "<0xFF>");
    EXPECT_EQ(v->token_types[100], kTokenByte);
    EXPECT_EQ(v->token_types[1], kTokenControl);
    EXPECT_EQ(v->tokens[259], "\xE2\x96\x81");
    for (size_t i = 260; i < v->tokens.size(); ++i) {
      EXPECT_EQ(v->token_types[i], kTokenNormal);
      ASSERT_LT(v->scores[i], v->scores[i - 1]) << i;
    }
    expect_unique(*v);
    EXPECT_EQ(v->bos, 1);
    EXPECT_EQ(v->eos, 2);
    EXPECT_TRUE(v->add_bos);
  }
  EXPECT_FALSE(make_vocab(VocabFamily::kSpm, ChatStyle::kLlama2, 100).ok());
}

void expect_merges_consistent(const SynthVocab& v) {
  std::unordered_map<std::string, size_t> id;
  for (size_t i = 0; i < v.tokens.size(); ++i) id[v.tokens[i]] = i;
  ASSERT_FALSE(v.merges.empty());
  for (const std::string& m : v.merges) {
    size_t sp = m.find(' ');
    ASSERT_NE(sp, std::string::npos) << m;
    std::string a = m.substr(0, sp), b = m.substr(sp + 1);
    ASSERT_TRUE(id.count(a) && id.count(b) && id.count(a + b)) << m;
    EXPECT_LT(id[a], id[a + b]);
    EXPECT_LT(id[b], id[a + b]);
  }
}

TEST(SynthVocab, Llama3ByteLevelBpe) {
  auto v = make_vocab(VocabFamily::kLlama3, ChatStyle::kLlama3, 128256);
  ASSERT_TRUE(v.ok()) << v.status().message();
  ASSERT_EQ(v->tokens.size(), 128256u);
  EXPECT_EQ(v->model, "gpt2");
  EXPECT_EQ(v->pre, "llama-bpe");
  EXPECT_EQ(v->tokens[0], "!");           // GPT-2 byte order: printable bytes first
  EXPECT_EQ(v->tokens[188], "\xC4\x80");  // then byte 0 as U+0100
  EXPECT_EQ(v->tokens[128000], "<|begin_of_text|>");
  EXPECT_EQ(v->tokens[128001], "<|end_of_text|>");
  EXPECT_EQ(v->tokens[128006], "<|start_header_id|>");
  EXPECT_EQ(v->tokens[128009], "<|eot_id|>");
  EXPECT_EQ(v->tokens[128255], "<|reserved_special_token_250|>");
  EXPECT_EQ(v->token_types[128000], kTokenControl);
  EXPECT_EQ(v->bos, 128000);
  EXPECT_EQ(v->eos, 128009);
  EXPECT_TRUE(v->add_bos);
  EXPECT_EQ(v->merges.size(), 128000u - 256u);
  expect_unique(*v);
  expect_merges_consistent(*v);
  EXPECT_NE(v->chat_template.find("<|start_header_id|>"), std::string::npos);
}

TEST(SynthVocab, Qwen2ByteLevelBpeWithPadding) {
  auto v = make_vocab(VocabFamily::kQwen2, ChatStyle::kChatMl, 152064);
  ASSERT_TRUE(v.ok()) << v.status().message();
  ASSERT_EQ(v->tokens.size(), 152064u);
  EXPECT_EQ(v->pre, "qwen2");
  EXPECT_EQ(v->tokens[151643], "<|endoftext|>");
  EXPECT_EQ(v->tokens[151644], "<|im_start|>");
  EXPECT_EQ(v->tokens[151645], "<|im_end|>");
  EXPECT_EQ(v->tokens[151646], "[PAD151646]");
  EXPECT_EQ(v->token_types[152063], kTokenUnused);
  EXPECT_EQ(v->bos, 151643);
  EXPECT_EQ(v->eos, 151645);
  EXPECT_FALSE(v->add_bos);
  expect_unique(*v);
  expect_merges_consistent(*v);
  EXPECT_NE(v->chat_template.find("<|im_start|>"), std::string::npos);
}

}  // namespace
}  // namespace tenbin::synth
