// WordPiece encoding over BERT-normalised words.
#include "model/tokenizer/wordpiece_tokenizer.h"

namespace tenbin {
namespace {

constexpr std::string_view kWordStart = "\xE2\x96\x81";  // "▁"
constexpr size_t kMaxWordChars = 100;                    // longer words become [UNK]

}  // namespace

std::vector<std::string> WordPieceTokenizer::basic_tokenize(std::string_view text) const {
  std::vector<std::string> words;
  std::string current;
  auto finish = [&] {
    if (!current.empty()) words.push_back(std::move(current));
    current.clear();
  };
  for (size_t pos = 0; pos < text.size();) {
    uint32_t cp = unicode::next_code_point(text, pos);
    if (cp == unicode::kInvalid || cp == 0 || cp == 0xFFFD) continue;
    cp = unicode::strip_accents(cp);
    const unicode::CharClass cls = classifier_.classify(cp);
    if (cls == unicode::CharClass::kControl || cls == unicode::CharClass::kMark) continue;
    if (cls == unicode::CharClass::kWhitespace) {
      finish();
      continue;
    }
    if (cls == unicode::CharClass::kPunctuation || unicode::is_cjk_ideograph(cp)) {
      finish();
      unicode::append_utf8(current, cp);
      finish();
      continue;
    }
    unicode::append_utf8(current, unicode::to_lower(cp));
  }
  finish();
  return words;
}

void WordPieceTokenizer::encode_word(const std::string& word, std::vector<int32_t>& out) const {
  size_t n_chars = 0;
  for (char c : word) n_chars += (static_cast<uint8_t>(c) & 0xC0) != 0x80;
  const size_t first = out.size();
  if (n_chars <= kMaxWordChars) {
    std::string text(kWordStart);
    text += word;
    size_t start = 0;
    while (start < text.size()) {
      // Longest vocabulary piece starting at `start`, shrinking by whole characters.
      int32_t id = -1;
      size_t end = text.size();
      while (end > start) {
        id = vocab_.find(std::string_view(text).substr(start, end - start));
        if (id >= 0 && vocab_.type(id) != TokenType::kControl) break;
        id = -1;
        do {
          --end;
        } while (end > start && (static_cast<uint8_t>(text[end]) & 0xC0) == 0x80);
      }
      if (id < 0) break;
      out.push_back(id);
      start = end;
      if (start == text.size()) return;
    }
  }
  out.resize(first);  // no segmentation: the whole word is unknown
  if (vocab_.unk >= 0) out.push_back(vocab_.unk);
}

std::vector<int32_t> WordPieceTokenizer::encode(std::string_view text, bool add_special,
                                                bool parse_special) const {
  std::vector<int32_t> out;
  const int32_t cls = vocab_.cls >= 0 ? vocab_.cls : vocab_.bos;
  const int32_t sep = vocab_.sep >= 0 ? vocab_.sep : vocab_.eos;
  if (add_special && cls >= 0) out.push_back(cls);
  for (const TextFragment& fragment : specials_.split(text, parse_special)) {
    if (fragment.token >= 0) {
      out.push_back(fragment.token);
      continue;
    }
    for (const std::string& word : basic_tokenize(fragment.text)) encode_word(word, out);
  }
  if (add_special && sep >= 0) out.push_back(sep);
  return out;
}

std::string WordPieceTokenizer::token_to_piece(int32_t id) const {
  if (!valid(id)) return "";
  if (vocab_.type(id) == TokenType::kControl) return "";
  const std::string& text = vocab_.tokens[static_cast<size_t>(id)];
  if (!text.starts_with(kWordStart)) return text;
  std::string out(1, ' ');
  out.append(text, kWordStart.size(), std::string::npos);
  return out;
}

}  // namespace tenbin
