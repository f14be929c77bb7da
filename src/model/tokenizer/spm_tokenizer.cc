// SentencePiece BPE encoding: repeatedly merge the adjacent pair whose joined text is the
// highest-scoring vocabulary piece (ties: leftmost), using a heap of candidate pairs and a
// linked list of symbols so a whole text costs O(n log n).
#include "model/tokenizer/spm_tokenizer.h"

#include <fmt/format.h>

#include <charconv>
#include <queue>

#include "model/tokenizer/unicode_utils.h"

namespace tenbin {
namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581 "▁"

struct Symbol {
  size_t start;
  size_t len;  // 0 once merged into its left neighbour
  int prev;
  int next;
};

struct Candidate {
  float score;
  int left;
  int right;
  size_t len;  // combined length when pushed; a mismatch later means the pair is stale
  bool operator<(const Candidate& o) const {
    // priority_queue pops the largest: highest score, then the leftmost pair.
    return score < o.score || (score == o.score && left > o.left);
  }
};

}  // namespace

SpmTokenizer::SpmTokenizer(Vocab vocab, bool add_space_prefix)
    : VocabTokenizer(std::move(vocab)), add_space_prefix_(add_space_prefix) {
  for (int b = 0; b < 256; ++b) {
    int32_t id = vocab_.find(fmt::format("<0x{:02X}>", b));
    if (id < 0 && b < 0x80) id = vocab_.find(std::string(1, static_cast<char>(b)));
    byte_tokens_[static_cast<size_t>(b)] = id >= 0 ? id : vocab_.unk;
  }
}

int32_t SpmTokenizer::piece_id(std::string_view text) const {
  const int32_t id = vocab_.find(text);
  if (id < 0) return -1;
  // Control, byte and unknown entries are never produced from plain text.
  const TokenType t = vocab_.type(id);
  if (t == TokenType::kControl || t == TokenType::kByte || t == TokenType::kUnknown) return -1;
  return id;
}

void SpmTokenizer::encode_fragment(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<Symbol> symbols;
  for (size_t pos = 0; pos < text.size();) {
    const size_t len = std::min<size_t>(
        unicode::utf8_sequence_length(static_cast<uint8_t>(text[pos])), text.size() - pos);
    const int index = static_cast<int>(symbols.size());
    symbols.push_back(Symbol{pos, len, index - 1, index + 1});
    pos += len;
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;

  std::priority_queue<Candidate> queue;
  auto try_pair = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const size_t len = symbols[left].len + symbols[right].len;
    const int32_t id = piece_id(text.substr(symbols[left].start, len));
    if (id < 0) return;
    const float score = vocab_.scores.empty() ? 0.0f : vocab_.scores[static_cast<size_t>(id)];
    queue.push(Candidate{score, left, right, len});
  };
  for (size_t i = 1; i < symbols.size(); ++i)
    try_pair(static_cast<int>(i) - 1, static_cast<int>(i));

  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& left = symbols[c.left];
    Symbol& right = symbols[c.right];
    if (left.len == 0 || right.len == 0 || left.len + right.len != c.len) continue;
    left.len += right.len;
    right.len = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = c.left;
    try_pair(left.prev, c.left);
    try_pair(c.left, left.next);
  }

  for (int i = 0; i >= 0; i = symbols[i].next) {
    const std::string_view piece = text.substr(symbols[i].start, symbols[i].len);
    const int32_t id = piece_id(piece);
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    for (char c : piece) {
      const int32_t byte_id = byte_tokens_[static_cast<uint8_t>(c)];
      if (byte_id >= 0) out.push_back(byte_id);
    }
  }
}

std::vector<int32_t> SpmTokenizer::encode(std::string_view text, bool add_special,
                                          bool parse_special) const {
  std::vector<int32_t> out;
  if (add_special && vocab_.add_bos && vocab_.bos >= 0) out.push_back(vocab_.bos);
  bool after_special = true;  // the text start counts as a boundary for the space prefix
  std::string escaped;
  for (const TextFragment& fragment : specials_.split(text, parse_special)) {
    if (fragment.token >= 0) {
      out.push_back(fragment.token);
      after_special = true;
      continue;
    }
    escaped.clear();
    if (add_space_prefix_ && after_special) escaped += kSpaceMarker;
    for (char c : fragment.text) {
      if (c == ' ') {
        escaped += kSpaceMarker;
      } else {
        escaped.push_back(c);
      }
    }
    encode_fragment(escaped, out);
    after_special = false;
  }
  if (add_special && vocab_.add_eos && vocab_.eos >= 0) out.push_back(vocab_.eos);
  return out;
}

std::string SpmTokenizer::token_to_piece(int32_t id) const {
  if (!valid(id)) return "";
  const std::string& text = vocab_.tokens[static_cast<size_t>(id)];
  switch (vocab_.type(id)) {
    case TokenType::kControl:
      return "";
    case TokenType::kUnknown:
      return " \xE2\x81\x87 ";  // " ⁇ ", SentencePiece's surface for unknown pieces
    case TokenType::kUserDefined:
      return text;
    case TokenType::kByte:
      if (text.size() == 6 && text.starts_with("<0x") && text.back() == '>') {
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(text.data() + 3, text.data() + 5, value, 16);
        if (ec == std::errc() && end == text.data() + 5) {
          return std::string(1, static_cast<char>(value));
        }
      }
      return text;
    default:
      break;
  }
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    if (text.compare(pos, kSpaceMarker.size(), kSpaceMarker) == 0) {
      out.push_back(' ');
      pos += kSpaceMarker.size();
    } else {
      out.push_back(text[pos++]);
    }
  }
  return out;
}

}  // namespace tenbin
