// Pre-tokenizers of byte-level BPE vocabularies, selected by GGUF `tokenizer.ggml.pre`: a list
// of PCRE2 regexes (UTF + UCP, JIT when available) applied in turn, each splitting every piece
// the previous one produced into its matches and the gaps between them.
// Immutable after create(); split() is safe from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace tenbin {

class BpePreTokenizer {
 public:
  // `name` as GGUF spells it ("llama-bpe", "qwen2", "gpt-2", "default", ...). Unknown names
  // are refused with the list of supported ones.
  static Expected<std::unique_ptr<BpePreTokenizer>> create(std::string_view name);
  static std::string supported_names();
  ~BpePreTokenizer();
  BpePreTokenizer(const BpePreTokenizer&) = delete;
  BpePreTokenizer& operator=(const BpePreTokenizer&) = delete;

  // Pieces of `text`, in order, covering it exactly.
  std::vector<std::string_view> split(std::string_view text) const;

  const std::string& name() const { return name_; }
  // LLaMA-3: a pre-token that is itself a vocabulary entry is emitted without merging.
  bool ignore_merges() const { return ignore_merges_; }
  // LLaMA-3 vocabularies start texts with BOS unless the GGUF says otherwise.
  bool default_add_bos() const { return default_add_bos_; }

 private:
  BpePreTokenizer() = default;
  void split_piece(const void* code, std::string_view piece, void* match_data,
                   std::vector<std::string_view>& out) const;

  std::string name_;
  std::vector<void*> regexes_;  // pcre2_code_8*
  bool ignore_merges_ = false;
  bool default_add_bos_ = false;
};

}  // namespace tenbin
