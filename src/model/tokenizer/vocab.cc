// Vocabulary index, end-of-generation set and special-token splitting.
#include "model/tokenizer/vocab.h"

#include <algorithm>

namespace tenbin {

void Vocab::finalize() {
  index.clear();
  index.reserve(tokens.size() * 2);
  for (size_t i = 0; i < tokens.size(); ++i) index.emplace(tokens[i], static_cast<int32_t>(i));
  if (types.size() < tokens.size()) types.resize(tokens.size(), TokenType::kNormal);

  end_of_generation.clear();
  for (int32_t id : {eos, eot, eom}) {
    if (id >= 0 && id < size()) end_of_generation.insert(id);
  }
  // Chat models end a turn with one of these control tokens even when the metadata names
  // only the end-of-text token.
  static constexpr std::string_view kEndNames[] = {"<|eot_id|>",    "<|im_end|>", "<|end|>",
                                                   "<|endoftext|>", "</s>",       "<end_of_turn>",
                                                   "<|eom_id|>"};
  for (std::string_view name : kEndNames) {
    const int32_t id = find(name);
    if (id >= 0 && type(id) == TokenType::kControl) end_of_generation.insert(id);
  }
}

int32_t Vocab::find(std::string_view text) const {
  auto it = index.find(text);
  return it == index.end() ? -1 : it->second;
}

SpecialTokenMatcher::SpecialTokenMatcher(const Vocab& vocab) : by_first_byte_(256) {
  for (int32_t id = 0; id < vocab.size(); ++id) {
    const TokenType t = vocab.type(id);
    const std::string& text = vocab.tokens[static_cast<size_t>(id)];
    if (text.empty()) continue;
    if (t != TokenType::kControl && t != TokenType::kUserDefined && t != TokenType::kUnknown) {
      continue;
    }
    by_first_byte_[static_cast<uint8_t>(text[0])].push_back(
        Entry{text, id, t == TokenType::kUserDefined});
  }
  for (auto& bucket : by_first_byte_) {
    std::stable_sort(bucket.begin(), bucket.end(),
                     [](const Entry& a, const Entry& b) { return a.text.size() > b.text.size(); });
  }
}

std::vector<TextFragment> SpecialTokenMatcher::split(std::string_view text,
                                                     bool parse_special) const {
  std::vector<TextFragment> out;
  size_t raw_start = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const Entry* hit = nullptr;
    for (const Entry& e : by_first_byte_[static_cast<uint8_t>(text[pos])]) {
      if (!e.always && !parse_special) continue;
      if (text.compare(pos, e.text.size(), e.text) == 0) {
        hit = &e;
        break;
      }
    }
    if (hit == nullptr) {
      ++pos;
      continue;
    }
    if (pos > raw_start) out.push_back({text.substr(raw_start, pos - raw_start), -1});
    out.push_back({hit->text, hit->id});
    pos += hit->text.size();
    raw_start = pos;
  }
  if (raw_start < text.size()) out.push_back({text.substr(raw_start), -1});
  return out;
}

const std::string& VocabTokenizer::token_text(int32_t id) const {
  static const std::string kEmpty;
  return valid(id) ? vocab_.tokens[static_cast<size_t>(id)] : kEmpty;
}

}  // namespace tenbin
