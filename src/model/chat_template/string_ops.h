// Python string helpers shared by filters and string methods: strip, split, case changes,
// replace. ASCII case mapping only: other characters pass through unchanged.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tenbin::jinja {

// Python str.strip/lstrip/rstrip; `chars` null strips whitespace.
std::string py_strip(std::string_view s, const std::string* chars, bool left, bool right);
// Python str.split: `sep` null splits on runs of whitespace and drops empty parts.
std::vector<std::string> py_split(std::string_view s, const std::string* sep, int64_t maxsplit);
std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);
std::string py_capitalize(std::string_view s);
// Words start after a non-letter (Python str.title) or, with `jinja_words`, after whitespace
// or one of -([{< (the Jinja title filter).
std::string py_title(std::string_view s, bool jinja_words);
// Python str.replace; count < 0 replaces every occurrence. Stops growing past max_bytes.
std::string py_replace(std::string_view s, std::string_view old, std::string_view repl,
                       int64_t count, size_t max_bytes, bool* too_big);

}  // namespace tenbin::jinja
