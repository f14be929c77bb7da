// llama.cpp's tokenizer test vectors: every case of every vocabulary must give exactly the
// reference ids (encode with add_special=false, parse_special=false, as test-tokenizer-0 does).
#include <gtest/gtest.h>

#include "unit/tokenizer/tokenizer_test_util.h"

namespace tenbin::test {
namespace {

struct VectorSet {
  std::string tokenizer;  // cached_tokenizer() name
  std::string cases;      // path prefix of .inp/.out under the shared folder
};

std::string vectors_name(const testing::TestParamInfo<VectorSet>& info) {
  std::string name = info.param.tokenizer.substr(info.param.tokenizer.find('/') + 1);
  for (char& c : name) {
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

class VocabVectors : public testing::TestWithParam<VectorSet> {};

TEST_P(VocabVectors, MatchReferenceIds) {
  const VectorSet& set = GetParam();
  const Tokenizer* tok = cached_tokenizer(set.tokenizer);
  ASSERT_NE(tok, nullptr);
  const auto cases =
      load_vocab_cases(shared_path(set.cases + ".inp"), shared_path(set.cases + ".out"));
  ASSERT_EQ(cases.size(), 46u) << "test vector files not found or malformed: " << set.cases;
  size_t passed = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::vector<int32_t> got = tok->encode(cases[i].input, false, false);
    if (got == cases[i].expected) {
      ++passed;
    } else {
      ADD_FAILURE() << set.tokenizer << " case " << i << " input '" << cases[i].input
                    << "'\n  expected: " << ids_to_string(cases[i].expected)
                    << "\n  got:      " << ids_to_string(got);
    }
  }
  std::printf("[ vectors  ] %s: %zu/%zu cases match\n", set.tokenizer.c_str(), passed,
              cases.size());
}

std::vector<VectorSet> all_sets() {
  std::vector<VectorSet> sets;
  for (const char* name : {"bert-bge", "deepseek-coder", "deepseek-llm", "falcon", "gpt-2",
                           "llama-spm", "mpt", "phi-3", "refact", "starcoder"}) {
    sets.push_back(
        {std::string("vocab/") + name, std::string("models/vocab/ggml-vocab-") + name + ".gguf"});
  }
  sets.push_back({"llama3", "models/tokenizers/llama3/ggml-vocab-llama-bpe.gguf"});
  sets.push_back({"qwen2", "models/tokenizers/qwen2/ggml-vocab-qwen2.gguf"});
  return sets;
}

INSTANTIATE_TEST_SUITE_P(All, VocabVectors, testing::ValuesIn(all_sets()), vectors_name);

}  // namespace
}  // namespace tenbin::test
