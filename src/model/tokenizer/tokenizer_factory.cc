// Tokenizer::from_gguf: reads the `tokenizer.ggml.*` metadata, validates it, applies the
// per-model defaults llama.cpp uses, and builds the SentencePiece, BPE or WordPiece tokenizer.
#include <limits>

#include "model/gguf/gguf_file.h"
#include "model/tokenizer/bpe_tokenizer.h"
#include "model/tokenizer/spm_tokenizer.h"
#include "model/tokenizer/tokenizer.h"
#include "model/tokenizer/wordpiece_tokenizer.h"

namespace tenbin {
namespace {

constexpr std::string_view kPrefix = "tokenizer.ggml.";

std::string key(std::string_view name) {
  return std::string(kPrefix) + std::string(name);
}

// A token id from metadata: `fallback` when absent, -1 for the "none" sentinel (-1 or
// UINT32_MAX) or an id outside the vocabulary (real files carry such stale ids).
int32_t read_id(const GgufFile& file, std::string_view name, int32_t fallback, int32_t n_vocab) {
  const std::optional<int64_t> v = file.get_int(key(name));
  if (!v) return fallback < n_vocab ? fallback : -1;
  if (*v < 0 || *v >= n_vocab) return -1;
  return static_cast<int32_t>(*v);
}

Status read_vocab(const GgufFile& file, Vocab& vocab) {
  const GgufValue* tokens = file.find(key("tokens"));
  if (tokens == nullptr) {
    return Status::Errorf("{}: missing metadata key '{}' (the vocabulary)", file.path(),
                          key("tokens"));
  }
  std::optional<std::vector<std::string>> texts = file.get_string_array(key("tokens"));
  if (!texts) {
    return Status::Errorf("{}: metadata key '{}' must be an array of strings", file.path(),
                          key("tokens"));
  }
  if (texts->empty() || texts->size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return Status::Errorf("{}: metadata key '{}' holds {} tokens", file.path(), key("tokens"),
                          texts->size());
  }
  vocab.tokens = std::move(*texts);
  const size_t n = vocab.tokens.size();

  if (file.find(key("scores")) != nullptr) {
    std::optional<std::vector<float>> scores = file.get_float_array(key("scores"));
    if (!scores || scores->size() != n) {
      return Status::Errorf("{}: metadata key '{}' must be {} numbers, one per token (got {})",
                            file.path(), key("scores"), n,
                            scores ? std::to_string(scores->size()) : "another type");
    }
    vocab.scores = std::move(*scores);
  }
  vocab.types.assign(n, TokenType::kNormal);
  if (file.find(key("token_type")) != nullptr) {
    std::optional<std::vector<int64_t>> types = file.get_int_array(key("token_type"));
    if (!types || types->size() != n) {
      return Status::Errorf("{}: metadata key '{}' must be {} integers, one per token (got {})",
                            file.path(), key("token_type"), n,
                            types ? std::to_string(types->size()) : "another type");
    }
    for (size_t i = 0; i < n; ++i) {
      const int64_t t = (*types)[i];
      if (t < 0 || t > 6) {
        return Status::Errorf("{}: metadata key '{}'[{}] = {} is not a token type (0..6)",
                              file.path(), key("token_type"), i, t);
      }
      vocab.types[i] = static_cast<TokenType>(t);
    }
  }
  return Status::Ok();
}

void read_special_ids(const GgufFile& file, Vocab& vocab, int32_t bos, int32_t eos, int32_t unk) {
  const int32_t n = vocab.size();
  vocab.bos = read_id(file, "bos_token_id", bos, n);
  vocab.eos = read_id(file, "eos_token_id", eos, n);
  vocab.unk = read_id(file, "unknown_token_id", unk, n);
  vocab.sep = read_id(file, "seperator_token_id", -1, n);
  vocab.pad = read_id(file, "padding_token_id", -1, n);
  vocab.cls = read_id(file, "cls_token_id", -1, n);
  vocab.mask = read_id(file, "mask_token_id", -1, n);
  vocab.eot = read_id(file, "eot_token_id", -1, n);
  vocab.eom = read_id(file, "eom_token_id", -1, n);
}

}  // namespace

Expected<std::unique_ptr<Tokenizer>> Tokenizer::from_gguf(const GgufFile& file) {
  const GgufValue* model_value = file.find(key("model"));
  if (model_value == nullptr) {
    return Status::Errorf("{}: missing metadata key '{}' (the tokenizer type)", file.path(),
                          key("model"));
  }
  const std::optional<std::string> model = file.get_string(key("model"));
  if (!model) {
    return Status::Errorf("{}: metadata key '{}' must be a string", file.path(), key("model"));
  }
  if (*model != "llama" && *model != "gpt2" && *model != "bert") {
    return Status::Errorf(
        "{}: {} = '{}' is not a supported tokenizer model (supported: llama, gpt2, bert)",
        file.path(), key("model"), *model);
  }

  Vocab vocab;
  TENBIN_RETURN_IF_ERROR(read_vocab(file, vocab));
  const std::optional<bool> add_bos = file.get_bool(key("add_bos_token"));
  vocab.add_eos = file.get_bool(key("add_eos_token")).value_or(false);

  if (*model == "llama") {
    read_special_ids(file, vocab, 1, 2, 0);
    vocab.add_bos = add_bos.value_or(true);
    vocab.finalize();
    const bool space_prefix = file.get_bool(key("add_space_prefix")).value_or(true);
    return std::unique_ptr<Tokenizer>(new SpmTokenizer(std::move(vocab), space_prefix));
  }

  if (*model == "bert") {
    read_special_ids(file, vocab, -1, -1, 100);
    // BERT's usual [CLS] 101 / [SEP] 102 when the file names neither.
    auto in_vocab = [&](int32_t id) { return id < vocab.size() ? id : -1; };
    if (vocab.cls < 0) vocab.cls = vocab.bos >= 0 ? vocab.bos : in_vocab(101);
    if (vocab.sep < 0) vocab.sep = vocab.eos >= 0 ? vocab.eos : in_vocab(102);
    if (vocab.bos < 0) vocab.bos = vocab.cls;
    if (vocab.eos < 0) vocab.eos = vocab.sep;
    vocab.add_bos = add_bos.value_or(true);
    vocab.add_eos = file.get_bool(key("add_eos_token")).value_or(true);
    vocab.finalize();
    return std::unique_ptr<Tokenizer>(new WordPieceTokenizer(std::move(vocab)));
  }

  // gpt2: byte-level BPE.
  const std::string pre_name = file.get_string(key("pre")).value_or("default");
  Expected<std::unique_ptr<BpePreTokenizer>> pre = BpePreTokenizer::create(pre_name);
  if (!pre.ok()) return Status::Errorf("{}: {}", file.path(), pre.status().message());
  if (file.find(key("merges")) == nullptr) {
    return Status::Errorf("{}: missing metadata key '{}' (required for {} = 'gpt2')", file.path(),
                          key("merges"), key("model"));
  }
  std::optional<std::vector<std::string>> merges = file.get_string_array(key("merges"));
  if (!merges) {
    return Status::Errorf("{}: metadata key '{}' must be an array of strings", file.path(),
                          key("merges"));
  }
  read_special_ids(file, vocab, -1, -1, -1);
  vocab.add_bos = add_bos.value_or((*pre)->default_add_bos());
  vocab.finalize();
  return std::unique_ptr<Tokenizer>(
      new BpeTokenizer(std::move(vocab), *merges, std::move(pre.value())));
}

}  // namespace tenbin
