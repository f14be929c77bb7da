// The token table every tokenizer shares (texts, scores, GGUF token types, special ids) and
// the pieces built on it: splitting text around special tokens, and a Tokenizer base class
// that answers the vocabulary questions (n_vocab, bos/eos, end of generation) for all kinds.
// Immutable after construction; safe to use from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "model/tokenizer/tokenizer.h"

namespace tenbin {

// GGUF `tokenizer.ggml.token_type` values.
enum class TokenType : uint8_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

struct Vocab {
  std::vector<std::string> tokens;
  std::vector<float> scores;  // empty when the vocabulary has none
  std::vector<TokenType> types;
  int32_t bos = -1, eos = -1, unk = -1, sep = -1, pad = -1, cls = -1, mask = -1;
  int32_t eot = -1, eom = -1;
  bool add_bos = false;
  bool add_eos = false;

  // Fills `index` (first id wins for duplicate texts) and the end-of-generation set.
  void finalize();
  int32_t find(std::string_view text) const;
  int32_t size() const { return static_cast<int32_t>(tokens.size()); }
  TokenType type(int32_t id) const { return types[static_cast<size_t>(id)]; }

  // Transparent hashing: lookups by string_view allocate nothing.
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, int32_t, TextHash, std::equal_to<>> index;
  std::unordered_set<int32_t> end_of_generation;
};

// A piece of input: raw text to tokenize, or an already-matched special token.
struct TextFragment {
  std::string_view text;
  int32_t token = -1;  // >= 0 for a special token
};

// Finds special tokens in text, leftmost first and longest at each position. User-defined
// tokens always match (as in llama.cpp and Hugging Face added tokens); control and unknown
// tokens match only when parse_special is set.
class SpecialTokenMatcher {
 public:
  explicit SpecialTokenMatcher(const Vocab& vocab);
  std::vector<TextFragment> split(std::string_view text, bool parse_special) const;

 private:
  struct Entry {
    std::string_view text;
    int32_t id;
    bool always;  // user-defined: matched even without parse_special
  };
  std::vector<std::vector<Entry>> by_first_byte_;  // 256 buckets, longest first
};

// Implements the vocabulary accessors of Tokenizer over a Vocab.
class VocabTokenizer : public Tokenizer {
 public:
  explicit VocabTokenizer(Vocab vocab) : vocab_(std::move(vocab)), specials_(vocab_) {}

  const std::string& token_text(int32_t id) const override;
  int32_t n_vocab() const override { return vocab_.size(); }
  int32_t bos_id() const override { return vocab_.bos; }
  int32_t eos_id() const override { return vocab_.eos; }
  bool adds_bos() const override { return vocab_.add_bos; }
  bool is_end_of_generation(int32_t id) const override {
    return vocab_.end_of_generation.count(id) != 0;
  }
  const Vocab& vocab() const { return vocab_; }

 protected:
  bool valid(int32_t id) const { return id >= 0 && id < vocab_.size(); }

  Vocab vocab_;
  SpecialTokenMatcher specials_;
};

}  // namespace tenbin
