// Byte-level BPE (`tokenizer.ggml.model` = "gpt2"): text is split by the pre-tokenizer, each
// piece's bytes are written in GPT-2's printable byte alphabet, then adjacent symbols are
// merged lowest merge-rank first. Immutable after construction; thread-safe.
#pragma once

#include <memory>
#include <unordered_map>

#include "model/tokenizer/bpe_pretokenizer.h"
#include "model/tokenizer/unicode_utils.h"
#include "model/tokenizer/vocab.h"

namespace tenbin {

class BpeTokenizer final : public VocabTokenizer {
 public:
  // `merges` are "left right" strings, highest priority first. Merges naming pieces that are
  // not in the vocabulary are skipped, as they can never apply.
  BpeTokenizer(Vocab vocab, const std::vector<std::string>& merges,
               std::unique_ptr<BpePreTokenizer> pre);

  std::vector<int32_t> encode(std::string_view text, bool add_special,
                              bool parse_special) const override;
  std::string token_to_piece(int32_t id) const override;
  TokenizerKind kind() const override { return TokenizerKind::kBpe; }
  std::string_view pre_tokenizer() const override { return pre_->name(); }
  size_t n_merges() const { return merges_.size(); }

 private:
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  static uint64_t pair_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }
  // Merges one byte-level-encoded pre-token into tokens.
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  std::unique_ptr<BpePreTokenizer> pre_;
  unicode::ByteLevelCodec codec_;
  std::unordered_map<uint64_t, Merge> merges_;
};

}  // namespace tenbin
