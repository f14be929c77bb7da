// The input of one forward pass: a flat, ragged batch of tokens from one or more sequences.
// Token i belongs to sequence seq_ids[i] at position positions[i]; a sequence's tokens appear
// in position order. Logits are produced only for tokens with want_logits set.
// seq_ids index block_tables: block_tables[s] lists the KV cache blocks of sequence s in
// position order, so its token at position p is stored in (and attends through) slot
// block_tables[s][p / block_size] * block_size + p % block_size of the paged KvCache.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace tenbin {

struct Batch {
  std::vector<int32_t> tokens;                     // [n_tokens]
  std::vector<int32_t> positions;                  // [n_tokens]
  std::vector<int32_t> seq_ids;                    // [n_tokens], index into block_tables
  std::vector<uint8_t> want_logits;                // [n_tokens], 1 = return this token's logits
  std::vector<std::vector<int32_t>> block_tables;  // [n_seqs], block ids in position order

  // Registers a sequence's block table (covering at least its positions in this batch) and
  // returns the sequence id its tokens use.
  int32_t add_block_table(std::vector<int32_t> table) {
    block_tables.push_back(std::move(table));
    return static_cast<int32_t>(block_tables.size() - 1);
  }
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
  // Clears the tokens and the block tables.
  void clear() {
    tokens.clear();
    positions.clear();
    seq_ids.clear();
    want_logits.clear();
    block_tables.clear();
  }
};

}  // namespace tenbin
