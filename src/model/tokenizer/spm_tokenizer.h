// SentencePiece-style BPE (`tokenizer.ggml.model` = "llama"): spaces become "▁", a space is
// prepended to the text, and adjacent pieces are merged best-score first; characters with no
// piece fall back to <0xXX> byte tokens. Immutable after construction; thread-safe.
#pragma once

#include <array>

#include "model/tokenizer/vocab.h"

namespace tenbin {

class SpmTokenizer final : public VocabTokenizer {
 public:
  SpmTokenizer(Vocab vocab, bool add_space_prefix);

  std::vector<int32_t> encode(std::string_view text, bool add_special,
                              bool parse_special) const override;
  std::string token_to_piece(int32_t id) const override;
  TokenizerKind kind() const override { return TokenizerKind::kSentencePiece; }
  std::string_view pre_tokenizer() const override { return ""; }

 private:
  // Merges one escaped fragment ("▁Hello▁world") into tokens.
  void encode_fragment(std::string_view text, std::vector<int32_t>& out) const;
  // A piece merging may produce: id and score, or -1 when the text is not a usable piece.
  int32_t piece_id(std::string_view text) const;

  bool add_space_prefix_;
  std::array<int32_t, 256> byte_tokens_;  // <0xXX> ids (unk where missing)
};

}  // namespace tenbin
