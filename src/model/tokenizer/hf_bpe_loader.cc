// Tokenizer::from_hf_bpe: byte-level BPE from Hugging Face / GPT-2 files (vocab.json or
// encoder.json for token -> id, merges.txt or vocab.bpe for the merge list).
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "model/tokenizer/bpe_tokenizer.h"
#include "model/tokenizer/tokenizer.h"

namespace tenbin {
namespace {

Expected<std::string> read_file(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Errorf("cannot open {} '{}'", what, path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return Status::Errorf("cannot read {} '{}'", what, path);
  return buffer.str();
}

Status load_vocab_json(const std::string& path, Vocab& vocab) {
  Expected<std::string> text = read_file(path, "vocabulary");
  if (!text.ok()) return text.status();
  const nlohmann::json json = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return Status::Errorf("vocabulary '{}' is not a JSON object of token -> id", path);
  }
  int64_t max_id = -1;
  for (const auto& [token, id] : json.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > 16'000'000) {
      return Status::Errorf("vocabulary '{}': token '{}' has id {} (expected a non-negative int)",
                            path, token, id.dump());
    }
    max_id = std::max(max_id, id.get<int64_t>());
  }
  if (max_id < 0) return Status::Errorf("vocabulary '{}' is empty", path);
  vocab.tokens.assign(static_cast<size_t>(max_id) + 1, std::string());
  vocab.types.assign(vocab.tokens.size(), TokenType::kNormal);
  for (const auto& [token, id] : json.items()) {
    vocab.tokens[static_cast<size_t>(id.get<int64_t>())] = token;
  }
  // Ids the file skips stay as empty, unused entries.
  for (size_t i = 0; i < vocab.tokens.size(); ++i) {
    if (vocab.tokens[i].empty()) vocab.types[i] = TokenType::kUnused;
  }
  return Status::Ok();
}

Expected<std::vector<std::string>> load_merges(const std::string& path) {
  Expected<std::string> text = read_file(path, "merges file");
  if (!text.ok()) return text.status();
  std::vector<std::string> merges;
  std::istringstream in(*text);
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (line_no == 1 && line.starts_with("#version"))) continue;
    if (line.find(' ', 1) == std::string::npos) {
      return Status::Errorf("merges file '{}' line {}: expected \"left right\", got '{}'", path,
                            line_no, line);
    }
    merges.push_back(std::move(line));
  }
  return merges;
}

}  // namespace

Expected<std::unique_ptr<Tokenizer>> Tokenizer::from_hf_bpe(const HfBpeOptions& options) {
  Expected<std::unique_ptr<BpePreTokenizer>> pre = BpePreTokenizer::create(options.pre);
  if (!pre.ok()) return pre.status();
  Vocab vocab;
  TENBIN_RETURN_IF_ERROR(load_vocab_json(options.vocab_json_path, vocab));
  Expected<std::vector<std::string>> merges = load_merges(options.merges_path);
  if (!merges.ok()) return merges.status();

  vocab.finalize();
  for (const std::string& special : options.special_tokens) {
    const int32_t existing = vocab.find(special);
    if (existing >= 0) {
      vocab.types[static_cast<size_t>(existing)] = TokenType::kControl;
      continue;
    }
    vocab.tokens.push_back(special);
    vocab.types.push_back(TokenType::kControl);
    vocab.index.emplace(special, vocab.size() - 1);
  }
  const int32_t n = vocab.size();
  auto check_id = [&](int32_t id, std::string_view what) -> Status {
    if (id < -1 || id >= n)
      return Status::Errorf("{} {} is outside the vocabulary (0..{})", what, id, n - 1);
    return Status::Ok();
  };
  TENBIN_RETURN_IF_ERROR(check_id(options.bos_id, "bos_id"));
  TENBIN_RETURN_IF_ERROR(check_id(options.eos_id, "eos_id"));
  vocab.bos = options.bos_id;
  vocab.eos = options.eos_id;
  vocab.add_bos = options.add_bos;
  vocab.finalize();
  return std::unique_ptr<Tokenizer>(
      new BpeTokenizer(std::move(vocab), *merges, std::move(pre.value())));
}

}  // namespace tenbin
