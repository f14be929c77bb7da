#include "engine/grammar/token_constraint.h"

#include <limits>

namespace tenbin::grammar {

TokenBytes::TokenBytes(const Tokenizer& tokenizer) : by_first_byte_(256) {
  const int32_t n = tokenizer.n_vocab();
  bytes_.resize(n);
  end_.resize(n);
  for (int32_t id = 0; id < n; ++id) {
    bytes_[id] = tokenizer.token_to_piece(id);
    end_[id] = tokenizer.is_end_of_generation(id) ? 1 : 0;
    if (!bytes_[id].empty()) by_first_byte_[static_cast<uint8_t>(bytes_[id][0])].push_back(id);
  }
}

TokenConstraint::TokenConstraint(std::shared_ptr<const Grammar> grammar,
                                 std::shared_ptr<const TokenBytes> vocab, bool allow_end)
    : matcher_(std::move(grammar)), vocab_(std::move(vocab)), allow_end_(allow_end) {}

bool TokenConstraint::allows(int32_t token) const {
  if (token < 0 || token >= vocab_->size()) return false;
  if (vocab_->ends_generation(token)) return allow_end_ && matcher_.is_complete();
  const std::string& bytes = vocab_->bytes(token);
  return !bytes.empty() && matcher_.can_accept(bytes);
}

int64_t TokenConstraint::mask(std::span<float> logits) const {
  constexpr float kOff = -std::numeric_limits<float>::infinity();
  std::vector<uint8_t> allowed(logits.size(), 0);
  int64_t count = 0;
  uint64_t first[4];
  matcher_.next_bytes(first);
  for (int b = 0; b < 256; ++b) {
    if (!(first[b / 64] >> (b % 64) & 1)) continue;
    for (int32_t token : vocab_->starting_with(static_cast<uint8_t>(b))) {
      if (static_cast<size_t>(token) >= logits.size() || vocab_->ends_generation(token)) continue;
      if (matcher_.can_accept(vocab_->bytes(token))) {
        allowed[token] = 1;
        ++count;
      }
    }
  }
  const bool end_ok = allow_end_ && matcher_.is_complete();
  for (size_t t = 0; t < logits.size(); ++t) {
    if (end_ok && static_cast<int32_t>(t) < vocab_->size() &&
        vocab_->ends_generation(static_cast<int32_t>(t))) {
      allowed[t] = 1;
      ++count;
    }
    if (!allowed[t]) logits[t] = kOff;
  }
  return count;
}

void TokenConstraint::accept(int32_t token) {
  if (vocab_->ends_generation(token)) return;
  matcher_.accept(vocab_->bytes(token));
}

}  // namespace tenbin::grammar
