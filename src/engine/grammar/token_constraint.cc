#include "engine/grammar/token_constraint.h"

#include <algorithm>
#include <limits>

namespace tenbin::grammar {

TokenBytes::TokenBytes(const Tokenizer& tokenizer) {
  const int32_t n = tokenizer.n_vocab();
  bytes_.resize(n);
  end_.resize(n);
  for (int32_t id = 0; id < n; ++id) {
    bytes_[id] = tokenizer.token_to_piece(id);
    end_[id] = tokenizer.is_end_of_generation(id) ? 1 : 0;
    if (!bytes_[id].empty() && !end_[id]) sorted_.push_back(id);
  }
  std::sort(sorted_.begin(), sorted_.end(),
            [&](int32_t a, int32_t b) { return bytes_[a] < bytes_[b]; });
  shared_prefix_.resize(sorted_.size(), 0);
  for (size_t i = 1; i < sorted_.size(); ++i) {
    const std::string& a = bytes_[sorted_[i - 1]];
    const std::string& b = bytes_[sorted_[i]];
    uint32_t k = 0;
    while (k < a.size() && k < b.size() && a[k] == b[k]) ++k;
    shared_prefix_[i] = k;
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

// Walks the tokens in byte order keeping the matcher state after each prefix of the current
// token (states[d]: after d bytes), so a prefix shared by many tokens is matched once, and a
// prefix that fails rules out every token that shares it without looking at them.
int64_t TokenConstraint::mask(std::span<float> logits) const {
  constexpr float kOff = -std::numeric_limits<float>::infinity();
  constexpr size_t kNone = std::numeric_limits<size_t>::max();
  std::vector<uint8_t> allowed(logits.size(), 0);
  int64_t count = 0;
  const auto& sorted = vocab_->sorted();
  const auto& shared = vocab_->shared_prefix();
  std::vector<GrammarMatcher> states;
  states.push_back(matcher_);
  size_t failed_at = kNone;  // the previous token's bytes [0, failed_at] can not follow
  for (size_t i = 0; i < sorted.size(); ++i) {
    const size_t common = shared[i];
    if (failed_at != kNone && common > failed_at) continue;  // same failing prefix
    failed_at = kNone;
    const std::string& bytes = vocab_->bytes(sorted[i]);
    states.resize(std::min(common, states.size() - 1) + 1, matcher_);
    for (size_t d = states.size() - 1; d < bytes.size(); ++d) {
      GrammarMatcher next = states[d];
      if (!next.accept_byte(static_cast<uint8_t>(bytes[d]))) {
        failed_at = d;
        break;
      }
      states.push_back(std::move(next));
    }
    if (failed_at == kNone && static_cast<size_t>(sorted[i]) < logits.size()) {
      allowed[sorted[i]] = 1;
      ++count;
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
