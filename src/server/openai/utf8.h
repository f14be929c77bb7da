// UTF-8 validation for request strings (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace tenbin::server::openai {

// Byte offset of the first byte that does not start a well-formed sequence; nullopt when
// `text` is valid UTF-8.
std::optional<size_t> first_invalid_utf8(std::string_view text);
inline bool is_valid_utf8(std::string_view text) {
  return !first_invalid_utf8(text).has_value();
}

}  // namespace tenbin::server::openai
