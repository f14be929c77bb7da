// Python string helpers; see string_ops.h.
#include "model/chat_template/string_ops.h"

#include <cctype>

namespace tenbin::jinja {
namespace {

bool is_py_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
char up(char c) {
  return static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
}
char down(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

}  // namespace

std::string py_strip(std::string_view s, const std::string* chars, bool left, bool right) {
  auto strip_it = [&](char c) {
    return chars ? chars->find(c) != std::string::npos : is_py_space(c);
  };
  size_t b = 0, e = s.size();
  if (left) {
    while (b < e && strip_it(s[b])) ++b;
  }
  if (right) {
    while (e > b && strip_it(s[e - 1])) --e;
  }
  return std::string(s.substr(b, e - b));
}

std::vector<std::string> py_split(std::string_view s, const std::string* sep, int64_t maxsplit) {
  std::vector<std::string> out;
  if (sep == nullptr) {
    size_t i = 0;
    while (true) {
      while (i < s.size() && is_py_space(s[i])) ++i;
      if (i >= s.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
        out.push_back(py_strip(s.substr(i), nullptr, false, true));
        break;
      }
      size_t j = i;
      while (j < s.size() && !is_py_space(s[j])) ++j;
      out.emplace_back(s.substr(i, j - i));
      i = j;
    }
    return out;
  }
  if (sep->empty()) {
    out.emplace_back(s);
    return out;
  }
  size_t i = 0;
  while (true) {
    size_t j = s.find(*sep, i);
    if (j == std::string_view::npos ||
        (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit)) {
      out.emplace_back(s.substr(i));
      break;
    }
    out.emplace_back(s.substr(i, j - i));
    i = j + sep->size();
  }
  return out;
}

std::string py_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = up(c);
  return out;
}

std::string py_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = down(c);
  return out;
}

std::string py_capitalize(std::string_view s) {
  std::string out = py_lower(s);
  if (!out.empty()) out[0] = up(out[0]);
  return out;
}

std::string py_title(std::string_view s, bool jinja_words) {
  std::string out(s);
  bool word_start = true;
  for (char& c : out) {
    bool alpha = std::isalpha(static_cast<unsigned char>(c)) != 0;
    c = word_start ? up(c) : down(c);
    if (jinja_words) {
      word_start = is_py_space(c) || std::string_view("-([{<").find(c) != std::string_view::npos;
    } else {
      word_start = !alpha && !(static_cast<unsigned char>(c) >= 0x80);
    }
  }
  return out;
}

std::string py_replace(std::string_view s, std::string_view old, std::string_view repl,
                       int64_t count, size_t max_bytes, bool* too_big) {
  *too_big = false;
  std::string out;
  size_t i = 0;
  int64_t done = 0;
  if (old.empty()) {  // Python inserts `repl` between every character
    for (size_t k = 0; k <= s.size(); ++k) {
      if (count < 0 || done < count) {
        out += repl;
        ++done;
      }
      if (k < s.size()) out += s[k];
      if (out.size() > max_bytes) {
        *too_big = true;
        return {};
      }
    }
    return out;
  }
  while (count < 0 || done < count) {
    size_t j = s.find(old, i);
    if (j == std::string_view::npos) break;
    out.append(s.substr(i, j - i));
    out.append(repl);
    if (out.size() > max_bytes) {
      *too_big = true;
      return {};
    }
    i = j + old.size();
    ++done;
  }
  out.append(s.substr(i));
  return out;
}

}  // namespace tenbin::jinja
