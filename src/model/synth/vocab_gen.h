// Generates valid tokenizer vocabularies of an exact size for synthetic models: a SentencePiece
// `llama` vocab (control tokens, 256 byte tokens, then unique printable pieces) or a byte-level
// BPE `gpt2` vocab (256 byte chars, pieces with a merges list where every merge result is a
// token, then the family's special tokens), plus the family's chat template.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/gguf/gguf_writer.h"
#include "model/synth/presets.h"
#include "util/status.h"

namespace tenbin::synth {

// llama.cpp token types (tokenizer.ggml.token_type).
enum TokenType : int32_t {
  kTokenNormal = 1,
  kTokenUnknown = 2,
  kTokenControl = 3,
  kTokenUserDefined = 4,
  kTokenUnused = 5,
  kTokenByte = 6,
};

struct SynthVocab {
  std::string model;  // tokenizer.ggml.model: "llama" or "gpt2"
  std::string pre;    // tokenizer.ggml.pre: "" (SPM), "llama-bpe", "qwen2"
  std::vector<std::string> tokens;
  std::vector<float> scores;  // SPM only
  std::vector<int32_t> token_types;
  std::vector<std::string> merges;  // BPE only, "a b" in rank order
  int32_t bos = -1;
  int32_t eos = -1;
  int32_t eot = -1;
  int32_t unk = -1;
  int32_t pad = -1;
  bool add_bos = false;
  std::string chat_template;
};

// A vocabulary of exactly `n_vocab` tokens for `family`.
Expected<SynthVocab> make_vocab(VocabFamily family, ChatStyle chat, int64_t n_vocab);

// Writes the tokenizer.ggml.* keys (and tokenizer.chat_template).
void add_vocab_metadata(const SynthVocab& vocab, GgufWriter& writer);

}  // namespace tenbin::synth
