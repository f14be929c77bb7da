// UTF-8 iteration, the byte-level BPE character map and PCRE2-backed character classes.
#include "model/tokenizer/unicode_utils.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace tenbin::unicode {

int utf8_sequence_length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

uint32_t next_code_point(std::string_view text, size_t& pos) {
  const auto lead = static_cast<uint8_t>(text[pos]);
  const int len = utf8_sequence_length(lead);
  if (lead < 0x80) {
    ++pos;
    return lead;
  }
  if (len == 1 || pos + len > text.size()) {
    ++pos;
    return kInvalid;
  }
  uint32_t cp = lead & (0x7F >> len);
  for (int i = 1; i < len; ++i) {
    const auto c = static_cast<uint8_t>(text[pos + i]);
    if ((c & 0xC0) != 0x80) {
      ++pos;
      return kInvalid;
    }
    cp = (cp << 6) | (c & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8.
  static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++pos;
    return kInvalid;
  }
  pos += len;
  return cp;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

size_t valid_utf8_prefix(std::string_view bytes, bool* incomplete_tail) {
  *incomplete_tail = false;
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t next = pos;
    if (next_code_point(bytes, next) != kInvalid) {
      pos = next;
      continue;
    }
    // Invalid here; it may still be the start of a sequence that later bytes complete.
    const auto lead = static_cast<uint8_t>(bytes[pos]);
    const int len = utf8_sequence_length(lead);
    if (len > 1 && pos + len > bytes.size()) {
      bool continuation_ok = true;
      for (size_t i = pos + 1; i < bytes.size(); ++i) {
        if ((static_cast<uint8_t>(bytes[i]) & 0xC0) != 0x80) continuation_ok = false;
      }
      *incomplete_tail = continuation_ok;
    }
    return pos;
  }
  return pos;
}

ByteLevelCodec::ByteLevelCodec() {
  cp_to_byte_.fill(-1);
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
    const uint32_t cp = printable ? static_cast<uint32_t>(b) : 256u + extra++;
    append_utf8(byte_to_utf8_[b], cp);
    cp_to_byte_[cp] = static_cast<int16_t>(b);
  }
}

void ByteLevelCodec::encode(std::string_view bytes, std::string& out) const {
  for (char c : bytes) out += byte_to_utf8_[static_cast<uint8_t>(c)];
}

std::string ByteLevelCodec::decode(std::string_view text) const {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    const uint32_t cp = next_code_point(text, pos);
    if (cp < cp_to_byte_.size() && cp_to_byte_[cp] >= 0) {
      out.push_back(static_cast<char>(cp_to_byte_[cp]));
    } else {
      out.append(text.substr(start, pos - start));
    }
  }
  return out;
}

namespace {
// One alternative per class; the matching group number tells the class.
constexpr char kClassPattern[] =
    "(\\s)|([\\p{P}!-/:-@\\[-`{-~])|((?![\\t\\n\\r])[\\p{Cc}\\p{Cf}])|(\\p{Mn})";
}  // namespace

CharClassifier::CharClassifier() {
  int error = 0;
  PCRE2_SIZE offset = 0;
  code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kClassPattern), PCRE2_ZERO_TERMINATED,
                        PCRE2_UTF | PCRE2_UCP | PCRE2_ANCHORED, &error, &offset, nullptr);
}

CharClassifier::~CharClassifier() {
  pcre2_code_free(static_cast<pcre2_code*>(code_));
}

CharClass CharClassifier::classify(uint32_t cp) const {
  if (cp < 0x80) {
    if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) return CharClass::kWhitespace;
    if (cp < 0x20 || cp == 0x7F) return CharClass::kControl;
    const bool alnum =
        (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
    return alnum ? CharClass::kOther : CharClass::kPunctuation;
  }
  if (code_ == nullptr || cp == kInvalid) return CharClass::kOther;
  std::string utf8;
  append_utf8(utf8, cp);
  auto* code = static_cast<pcre2_code*>(code_);
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(code, nullptr);
  CharClass result = CharClass::kOther;
  const int rc =
      pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(utf8.data()), utf8.size(), 0, 0, md, nullptr);
  if (rc > 0) {
    static constexpr CharClass kByGroup[] = {CharClass::kOther, CharClass::kWhitespace,
                                             CharClass::kPunctuation, CharClass::kControl,
                                             CharClass::kMark};
    // The last set group is the one that matched (earlier groups are unset).
    result = kByGroup[rc - 1];
  }
  pcre2_match_data_free(md);
  return result;
}

}  // namespace tenbin::unicode
