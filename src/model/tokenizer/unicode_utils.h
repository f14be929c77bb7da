// UTF-8 helpers and the few Unicode facts the tokenizers need: code point iteration, the GPT-2
// byte <-> printable-character mapping of byte-level BPE, character classes (via PCRE2's
// Unicode tables) and compact lowercase / accent-stripping tables for WordPiece.
// Everything here is stateless or immutable after construction and safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tenbin::unicode {

// Length of the UTF-8 sequence that starts with `lead` (1 for an invalid lead byte).
int utf8_sequence_length(uint8_t lead);

// Decodes the code point at `pos` and advances `pos`; an invalid or truncated sequence
// consumes one byte and yields `kInvalid`.
inline constexpr uint32_t kInvalid = 0xFFFFFFFFu;
uint32_t next_code_point(std::string_view text, size_t& pos);

void append_utf8(std::string& out, uint32_t cp);

// Number of leading bytes of `bytes` that form complete, valid UTF-8. `*incomplete_tail` is
// set when the rest is a valid but unfinished sequence (more bytes could complete it).
size_t valid_utf8_prefix(std::string_view bytes, bool* incomplete_tail);

// GPT-2's reversible byte -> code point map: printable bytes map to themselves, the others
// to U+0100.. in order. Byte-level BPE vocabularies are written in these characters.
class ByteLevelCodec {
 public:
  ByteLevelCodec();
  void encode(std::string_view bytes, std::string& out) const;
  // Maps each character back to its byte; characters outside the map are copied as UTF-8.
  std::string decode(std::string_view text) const;

 private:
  std::array<std::string, 256> byte_to_utf8_;
  std::array<int16_t, 324> cp_to_byte_;  // code points 0..323 cover the whole map
};

enum class CharClass : uint8_t {
  kOther,
  kWhitespace,   // \s (Unicode White_Space)
  kPunctuation,  // ASCII punctuation or general category P
  kControl,      // Cc / Cf other than \t \n \r
  kMark,         // Mn (non-spacing mark: accents, also stripped by BERT)
};

// Classifies code points with PCRE2's Unicode property tables. Thread-safe.
class CharClassifier {
 public:
  CharClassifier();
  ~CharClassifier();
  CharClassifier(const CharClassifier&) = delete;
  CharClassifier& operator=(const CharClassifier&) = delete;
  CharClass classify(uint32_t cp) const;

 private:
  void* code_ = nullptr;  // pcre2_code_8*
};

bool is_cjk_ideograph(uint32_t cp);
// Simple (one-to-one) lowercase mapping for Latin, Greek, Cyrillic, Armenian, Georgian,
// fullwidth and a few symbol ranges; other code points map to themselves.
uint32_t to_lower(uint32_t cp);
// The base letter of a precomposed Latin/Greek/Cyrillic letter (NFD without its non-spacing
// marks), or `cp` itself when it has no canonical decomposition in the covered ranges.
uint32_t strip_accents(uint32_t cp);

}  // namespace tenbin::unicode
