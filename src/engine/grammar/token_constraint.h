// Grammar-constrained decoding for one sequence: which tokens of the vocabulary may come next
// so that the generated text stays a prefix of a sentence of the grammar, and an end of
// generation token only where the text is a whole sentence.
//
// The sampler draws from the model's distribution first; only when the draw is not allowed is
// the full mask computed and the draw repeated (as llama.cpp's sampler does). The accepted
// token then has exactly the probability of the masked distribution, and the common case costs
// one check instead of a pass over the vocabulary.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/grammar/grammar_matcher.h"
#include "model/tokenizer/tokenizer.h"

namespace tenbin::grammar {

// The bytes of every token (empty for control tokens, which a grammar never allows) and which
// tokens end generation. Built once per model; immutable, shared by every sequence.
class TokenBytes {
 public:
  explicit TokenBytes(const Tokenizer& tokenizer);
  const std::string& bytes(int32_t token) const { return bytes_[token]; }
  bool ends_generation(int32_t token) const { return end_[token] != 0; }
  int32_t size() const { return static_cast<int32_t>(bytes_.size()); }
  // The tokens with bytes (not ending generation) in byte order, and for each the length of
  // the prefix it shares with the one before: a walk in this order visits each distinct
  // prefix once (a trie walk without the trie).
  const std::vector<int32_t>& sorted() const { return sorted_; }
  const std::vector<uint32_t>& shared_prefix() const { return shared_prefix_; }

 private:
  std::vector<std::string> bytes_;
  std::vector<uint8_t> end_;
  std::vector<int32_t> sorted_;
  std::vector<uint32_t> shared_prefix_;
};

class TokenConstraint {
 public:
  // `allow_end`: end-of-generation tokens may close a complete sentence (false with
  // ignore_eos: the sequence then ends when the sentence can not go on).
  TokenConstraint(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenBytes> vocab,
                  bool allow_end);

  bool allows(int32_t token) const;
  // Sets the logit of every token that is not allowed to -infinity; returns how many remain.
  int64_t mask(std::span<float> logits) const;
  // Advances past `token`, which must be allowed.
  void accept(int32_t token);
  // The text is a whole sentence and nothing may follow: the sequence should stop here.
  bool finished() const { return matcher_.is_complete() && !matcher_.can_continue(); }

 private:
  GrammarMatcher matcher_;
  std::shared_ptr<const TokenBytes> vocab_;
  bool allow_end_;
};

}  // namespace tenbin::grammar
