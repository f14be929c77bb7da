// The input of one forward pass: a flat, ragged batch of tokens from one or more sequences.
// Token i belongs to sequence seq_ids[i] at position positions[i]; a sequence's tokens appear
// in position order. Logits are produced only for tokens with want_logits set.
#pragma once

#include <cstdint>
#include <vector>

namespace tenbin {

struct Batch {
  std::vector<int32_t> tokens;     // [n_tokens]
  std::vector<int32_t> positions;  // [n_tokens]
  std::vector<int32_t> seq_ids;    // [n_tokens], slots of the KV cache
  std::vector<uint8_t> want_logits;  // [n_tokens], 1 = return this token's logits

  void add(int32_t token, int32_t position, int32_t seq_id, bool logits) {
    tokens.push_back(token);
    positions.push_back(position);
    seq_ids.push_back(seq_id);
    want_logits.push_back(logits ? 1 : 0);
  }
  size_t size() const { return tokens.size(); }
  size_t n_outputs() const {
    size_t n = 0;
    for (uint8_t w : want_logits) n += w;
    return n;
  }
  void clear() {
    tokens.clear();
    positions.clear();
    seq_ids.clear();
    want_logits.clear();
  }
};

}  // namespace tenbin
