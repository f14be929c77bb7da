// Text <-> token ids for the vocabularies GGUF files carry: SentencePiece (`llama`), byte-level
// BPE (`gpt2`, with the pre-tokenizer named by `tokenizer.ggml.pre`) and WordPiece (`bert`).
// Built from GGUF metadata, or for BPE from Hugging Face vocab.json + merges.txt files.
// Thread-safety: immutable after construction; encode/decode are safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace tenbin {

class GgufFile;

enum class TokenizerKind { kSentencePiece, kBpe, kWordPiece };

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  static Expected<std::unique_ptr<Tokenizer>> from_gguf(const GgufFile& file);

  // Byte-level BPE from Hugging Face files. `pre` names the pre-tokenizer as GGUF does
  // ("llama-bpe", "qwen2", "gpt-2", ...). `special_tokens` get ids after the regular ones in
  // the order given unless vocab.json already holds them.
  struct HfBpeOptions {
    std::string vocab_json_path;  // token -> id (also accepts GPT-2 `encoder.json`)
    std::string merges_path;      // "a b" per line; a "#version" header line is skipped
    std::string pre;
    std::vector<std::string> special_tokens;
    int32_t bos_id = -1;
    int32_t eos_id = -1;
    bool add_bos = false;
  };
  static Expected<std::unique_ptr<Tokenizer>> from_hf_bpe(const HfBpeOptions& options);

  // add_special: prepend BOS (and for WordPiece wrap in CLS/SEP) when the vocabulary asks for it.
  // parse_special: text like "<|im_start|>" maps to its special token instead of being split.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_special,
                                      bool parse_special) const = 0;

  // The bytes this token stands for when detokenizing (SPM "▁" becomes a space, byte tokens
  // <0x0A> become their byte, BPE byte-level chars map back to bytes). Control tokens give "".
  virtual std::string token_to_piece(int32_t id) const = 0;
  // The vocabulary entry as stored.
  virtual const std::string& token_text(int32_t id) const = 0;

  virtual TokenizerKind kind() const = 0;
  virtual std::string_view pre_tokenizer() const = 0;  // "" where not applicable
  virtual int32_t n_vocab() const = 0;
  virtual int32_t bos_id() const = 0;  // -1 when absent
  virtual int32_t eos_id() const = 0;  // -1 when absent
  virtual bool adds_bos() const = 0;
  // End of generation: EOS, EOT (<|eot_id|>, <|im_end|>, ...).
  virtual bool is_end_of_generation(int32_t id) const = 0;
};

// Turns a stream of token ids into text that is always valid UTF-8: a multi-byte character
// split across tokens is held back until complete. With strip_leading_space (decoding from the
// start of a text with a SentencePiece vocabulary) the first piece's leading space is dropped,
// as SentencePiece decoding does.
class StreamingDetokenizer {
 public:
  explicit StreamingDetokenizer(const Tokenizer& tokenizer, bool strip_leading_space = false)
      : tokenizer_(tokenizer), first_(strip_leading_space) {}
  std::string push(int32_t id);  // text that became complete with this token
  std::string flush();           // what is left (invalid bytes as U+FFFD)

 private:
  const Tokenizer& tokenizer_;
  std::string pending_;
  bool first_ = true;
};

}  // namespace tenbin
