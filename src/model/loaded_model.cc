#include "model/loaded_model.h"

namespace tenbin {

Expected<LoadedModel> LoadedModel::load(const std::string& path,
                                        const backend::DeviceSpec& device) {
  LoadedModel loaded;
  auto file = GgufFile::open(path);
  if (!file.ok()) return file.status();
  loaded.file = std::move(*file);
  auto backend = backend::open_backend(device);
  if (!backend.ok()) return backend.status();
  auto model = LlamaModel::load(*loaded.file, std::move(*backend));
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
