// The OpenAI-compatible routes of `tenbin serve`: POST /v1/completions, POST
// /v1/chat/completions, GET /v1/models, plus /health and /metrics. Validates each request,
// tokenizes it (rendering the chat template for chat), and hands it to the serving engine as a
// GenerationJob. Before the model is ready, every route but /health answers 503.
// Thread-safety: handlers run on the HTTP I/O threads; set_ready() from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "engine/serving/serving_engine.h"
#include "model/chat_template/gguf_chat_template.h"
#include "model/tokenizer/tokenizer.h"
#include "server/http/router.h"
#include "server/serving_metrics.h"

namespace tenbin::server {

// What the routes need once the model is loaded.
struct ModelServices {
  ServingEngine* engine = nullptr;
  const Tokenizer* tokenizer = nullptr;
  const ModelChatTemplate* chat_template = nullptr;
  ServingMetrics* metrics = nullptr;
  std::string model_name;
  int64_t n_vocab = 0;
  int64_t created = 0;  // unix seconds, for /v1/models
};

class OpenAiService {
 public:
  // Installs every route on `router`; they answer 503 until set_ready().
  void install(http::Router& router);
  void set_ready(const ModelServices& services);

 private:
  void completions(const http::HttpRequest& request, std::shared_ptr<http::Responder> responder);
  void chat(const http::HttpRequest& request, std::shared_ptr<http::Responder> responder);
  const ModelServices* ready() const;

  ModelServices services_;
  std::atomic<bool> ready_{false};
};

}  // namespace tenbin::server
