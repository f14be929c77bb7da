// Shared helpers for the tokenizer tests: loading llama.cpp's tokenizer test vectors
// (`.inp` cases separated by "\n__ggml_vocab_test__\n", `.out` one id line per case) and
// building (and caching, since the big vocabularies take a moment) the tokenizers under test.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "model/gguf/gguf_file.h"
#include "model/tokenizer/tokenizer.h"
#include "unit/test_data.h"

namespace tenbin::test {

struct VocabCase {
  std::string input;
  std::vector<int32_t> expected;
};

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::vector<VocabCase> load_vocab_cases(const std::string& inp_path,
                                               const std::string& out_path) {
  const std::string inp = read_all(inp_path);
  const std::string out = read_all(out_path);
  static const std::string kSep = "\n__ggml_vocab_test__\n";
  std::vector<VocabCase> cases;
  size_t pos = 0;
  while (pos < inp.size()) {
    const size_t end = inp.find(kSep, pos);
    if (end == std::string::npos) break;
    cases.push_back({inp.substr(pos, end - pos), {}});
    pos = end + kSep.size();
  }
  std::istringstream lines(out);
  std::string line;
  for (size_t i = 0; i < cases.size() && std::getline(lines, line); ++i) {
    std::istringstream ids(line);
    int32_t id = 0;
    while (ids >> id) cases[i].expected.push_back(id);
  }
  return cases;
}

// Tokenizers by name: "vocab/<x>" for models/vocab/ggml-vocab-<x>.gguf, "gguf:<path>" for any
// GGUF under the shared folder, "llama3" and "qwen2" for the Hugging Face file sets.
inline const Tokenizer* cached_tokenizer(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second.get();
  std::unique_ptr<Tokenizer> tok;
  if (name == "llama3" || name == "qwen2") {
    Tokenizer::HfBpeOptions options;
    const std::string dir = shared_path("models/tokenizers/" + name + "/");
    if (name == "llama3") {
      options.vocab_json_path = dir + "encoder.json";
      options.merges_path = dir + "vocab.bpe";
      options.pre = "llama-bpe";
      options.special_tokens = {"<|begin_of_text|>", "<|end_of_text|>"};
      options.bos_id = 128000;
      options.eos_id = 128001;
      options.add_bos = true;
    } else {
      options.vocab_json_path = dir + "vocab.json";
      options.merges_path = dir + "merges.txt";
      options.pre = "qwen2";
      options.special_tokens = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
      options.eos_id = 151643;
    }
    auto made = Tokenizer::from_hf_bpe(options);
    EXPECT_TRUE(made.ok()) << made.status().message();
    if (made.ok()) tok = std::move(made.value());
  } else {
    const std::string path =
        name.starts_with("vocab/")
            ? shared_path("models/vocab/ggml-vocab-" + name.substr(6) + ".gguf")
            : shared_path(name.substr(5));
    auto file = GgufFile::open(path);
    EXPECT_TRUE(file.ok()) << file.status().message();
    if (!file.ok()) return nullptr;
    auto made = Tokenizer::from_gguf(**file);
    EXPECT_TRUE(made.ok()) << made.status().message();
    if (made.ok()) tok = std::move(made.value());
  }
  if (!tok) return nullptr;
  return cache.emplace(name, std::move(tok)).first->second.get();
}

inline std::string ids_to_string(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += (s.empty() ? "" : " ") + std::to_string(id);
  return s;
}

}  // namespace tenbin::test
