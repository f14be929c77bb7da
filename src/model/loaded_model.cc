#include "model/loaded_model.h"

namespace tenbin {

Expected<LoadedModel> LoadedModel::load(const std::string& path) {
  LoadedModel loaded;
  auto file = GgufFile::open(path);
  if (!file.ok()) return file.status();
  loaded.file = std::move(*file);
  auto model = LlamaModel::load(*loaded.file);
  if (!model.ok()) return model.status();
  loaded.model = std::move(*model);
  auto tokenizer = Tokenizer::from_gguf(*loaded.file);
  if (!tokenizer.ok()) return tokenizer.status();
  loaded.tokenizer = std::move(*tokenizer);
  if (loaded.tokenizer->n_vocab() > loaded.model->config().n_vocab) {
    return Status::Errorf("{}: tokenizer has {} tokens but token_embd.weight only {} rows", path,
                          loaded.tokenizer->n_vocab(), loaded.model->config().n_vocab);
  }
  return loaded;
}

}  // namespace tenbin
