// Byte-level BPE encoding: symbols in a linked list, candidate pairs in a min-heap keyed by
// (merge rank, position); a popped pair is applied only if both symbols are unchanged.
#include "model/tokenizer/bpe_tokenizer.h"

#include <queue>

namespace tenbin {
namespace {

struct Symbol {
  int32_t id;  // -1 when the character is not in the vocabulary
  size_t start;
  size_t len;
  int prev;
  int next;
};

struct Candidate {
  int32_t rank;
  int left;
  int right;
  int32_t left_id;
  int32_t right_id;
  int32_t result;
  bool operator>(const Candidate& o) const {
    return rank > o.rank || (rank == o.rank && left > o.left);
  }
};

}  // namespace

BpeTokenizer::BpeTokenizer(Vocab vocab, const std::vector<std::string>& merges,
                           std::unique_ptr<BpePreTokenizer> pre)
    : VocabTokenizer(std::move(vocab)), pre_(std::move(pre)) {
  merges_.reserve(merges.size() * 2);
  int32_t rank = 0;
  for (const std::string& line : merges) {
    const size_t space = line.find(' ', 1);
    if (space == std::string::npos) continue;
    const std::string_view left = std::string_view(line).substr(0, space);
    const std::string_view right = std::string_view(line).substr(space + 1);
    const int32_t l = vocab_.find(left);
    const int32_t r = vocab_.find(right);
    const int32_t joined = vocab_.find(std::string(left) + std::string(right));
    if (l >= 0 && r >= 0 && joined >= 0) merges_.emplace(pair_key(l, r), Merge{rank, joined});
    ++rank;
  }
}

void BpeTokenizer::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (pre_->ignore_merges()) {
    const int32_t whole = vocab_.find(word);
    if (whole >= 0) {
      out.push_back(whole);
      return;
    }
  }
  std::vector<Symbol> symbols;
  for (size_t pos = 0; pos < word.size();) {
    const size_t len = std::min<size_t>(
        unicode::utf8_sequence_length(static_cast<uint8_t>(word[pos])), word.size() - pos);
    const int index = static_cast<int>(symbols.size());
    symbols.push_back(Symbol{vocab_.find(word.substr(pos, len)), pos, len, index - 1, index + 1});
    pos += len;
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;

  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  auto try_pair = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const int32_t l = symbols[left].id;
    const int32_t r = symbols[right].id;
    if (l < 0 || r < 0) return;
    auto it = merges_.find(pair_key(l, r));
    if (it != merges_.end())
      queue.push(Candidate{it->second.rank, left, right, l, r, it->second.result});
  };
  for (size_t i = 1; i < symbols.size(); ++i)
    try_pair(static_cast<int>(i) - 1, static_cast<int>(i));

  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& left = symbols[c.left];
    Symbol& right = symbols[c.right];
    if (left.len == 0 || right.len == 0 || left.next != c.right || left.id != c.left_id ||
        right.id != c.right_id) {
      continue;
    }
    left.id = c.result;
    left.len += right.len;
    right.len = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = c.left;
    try_pair(left.prev, c.left);
    try_pair(c.left, left.next);
  }

  for (int i = 0; i >= 0; i = symbols[i].next) {
    if (symbols[i].id >= 0) {
      out.push_back(symbols[i].id);
    } else if (vocab_.unk >= 0) {
      out.push_back(vocab_.unk);
    }
  }
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool add_special,
                                          bool parse_special) const {
  std::vector<int32_t> out;
  if (add_special && vocab_.add_bos && vocab_.bos >= 0) out.push_back(vocab_.bos);
  std::string encoded;
  for (const TextFragment& fragment : specials_.split(text, parse_special)) {
    if (fragment.token >= 0) {
      out.push_back(fragment.token);
      continue;
    }
    for (std::string_view piece : pre_->split(fragment.text)) {
      encoded.clear();
      codec_.encode(piece, encoded);
      encode_word(encoded, out);
    }
  }
  if (add_special && vocab_.add_eos && vocab_.eos >= 0) out.push_back(vocab_.eos);
  return out;
}

std::string BpeTokenizer::token_to_piece(int32_t id) const {
  if (!valid(id)) return "";
  switch (vocab_.type(id)) {
    case TokenType::kControl:
    case TokenType::kUnknown:
      return "";
    case TokenType::kUserDefined:
      return vocab_.tokens[static_cast<size_t>(id)];
    default:
      return codec_.decode(vocab_.tokens[static_cast<size_t>(id)]);
  }
}

}  // namespace tenbin
