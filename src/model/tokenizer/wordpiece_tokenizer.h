// WordPiece (`tokenizer.ggml.model` = "bert"): BERT's basic tokenizer (drop control chars,
// lowercase, strip accents, split on whitespace and punctuation, CJK ideographs alone), then
// greedy longest-match-first pieces. GGUF stores word-initial pieces with a "▁" prefix and
// continuation pieces bare (Hugging Face's "##" removed). Immutable; thread-safe.
#pragma once

#include "model/tokenizer/unicode_utils.h"
#include "model/tokenizer/vocab.h"

namespace tenbin {

class WordPieceTokenizer final : public VocabTokenizer {
 public:
  explicit WordPieceTokenizer(Vocab vocab) : VocabTokenizer(std::move(vocab)) {}

  std::vector<int32_t> encode(std::string_view text, bool add_special,
                              bool parse_special) const override;
  std::string token_to_piece(int32_t id) const override;
  TokenizerKind kind() const override { return TokenizerKind::kWordPiece; }
  std::string_view pre_tokenizer() const override { return ""; }

 private:
  // Normalised words of one raw fragment.
  std::vector<std::string> basic_tokenize(std::string_view text) const;
  void encode_word(const std::string& word, std::vector<int32_t>& out) const;

  unicode::CharClassifier classifier_;
};

}  // namespace tenbin
