// StreamingDetokenizer: emits only complete UTF-8; bytes that can never become valid are
// replaced by U+FFFD as soon as that is certain, an unfinished tail waits for more tokens.
#include "model/tokenizer/tokenizer.h"
#include "model/tokenizer/unicode_utils.h"

namespace tenbin {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Moves the decodable part of `pending` to the result. With `final`, an unfinished tail is
// replaced too.
std::string drain(std::string& pending, bool final) {
  std::string out;
  size_t pos = 0;
  while (pos < pending.size()) {
    bool incomplete = false;
    const size_t valid =
        unicode::valid_utf8_prefix(std::string_view(pending).substr(pos), &incomplete);
    out.append(pending, pos, valid);
    pos += valid;
    if (pos == pending.size()) break;
    if (incomplete && !final) break;
    out += kReplacement;
    // Skip the lead byte and any continuation bytes that belonged to the broken sequence.
    ++pos;
    while (pos < pending.size() && (static_cast<uint8_t>(pending[pos]) & 0xC0) == 0x80) ++pos;
    if (incomplete) pos = pending.size();  // the unfinished tail counts as one character
  }
  pending.erase(0, pos);
  return out;
}

}  // namespace

std::string StreamingDetokenizer::push(int32_t id) {
  std::string piece = tokenizer_.token_to_piece(id);
  if (first_ && !piece.empty()) {
    if (piece.front() == ' ') piece.erase(0, 1);
    first_ = false;
  }
  pending_ += piece;
  return drain(pending_, /*final=*/false);
}

std::string StreamingDetokenizer::flush() {
  return drain(pending_, /*final=*/true);
}

}  // namespace tenbin
