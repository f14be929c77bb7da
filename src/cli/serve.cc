// `tenbin serve`: the OpenAI-compatible server. Starts listening at once (/health answers 503
// while the model loads), loads the model, starts the engine, and serves until SIGTERM/SIGINT,
// then stops accepting, lets in-flight requests finish within the grace period, and exits 0.
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <string>
#include <thread>

#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/kv_type_option.h"
#include "engine/serving/serving_engine.h"
#include "model/chat_template/gguf_chat_template.h"
#include "model/loaded_model.h"
#include "server/auth/api_key.h"
#include "server/http/server.h"
#include "server/openai_service.h"
#include "server/serving_metrics.h"

namespace tenbin::cli {
namespace {

struct ServeOptions {
  std::string model_path;
  std::string host = "127.0.0.1";
  int port = 8080;
  int threads = 0;
  int io_threads = 2;
  double kv_cache_gib = 0;  // 0: 1 GiB on the CPU, most of the free memory on a GPU
  std::string device = "cpu";
  std::string kv_type = "f16";
  int32_t max_num_seqs = 32;
  int32_t max_batch_tokens = 512;
  bool prefill_first = false;
  int32_t max_queue = 256;
  int64_t ctx = 0;
  std::string api_key;
  std::string served_model_name;
  double max_body_mib = 8;
  double shutdown_grace_s = 10;
  double request_timeout_s = 0;
};

// --kv-cache-gib, or its default for the device.
double kv_cache_budget(double gib, const backend::Backend& backend) {
  if (gib > 0) return gib * (1ull << 30);
  const std::optional<backend::MemoryInfo> memory = backend.memory_info();
  if (!memory) return 1.0 * (1ull << 30);
  const double free = static_cast<double>(memory->free_bytes) - (1ull << 30);
  return std::max(0.9 * free, 0.0);
}

int serve(const ServeOptions& o) {
  // Signals are taken by sigwait() below; every thread started from here inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  server::OpenAiService service;
  server::http::Router router;
  service.install(router);
  router.set_guard(server::auth::ApiKeyAuth({.api_key = o.api_key}).guard());
  server::http::HttpServerOptions http;
  http.address = o.host;
  http.port = static_cast<uint16_t>(o.port);
  http.io_threads = std::max(1, o.io_threads);
  http.max_body_bytes = static_cast<size_t>(o.max_body_mib * (1 << 20));
  http.shutdown_grace = std::chrono::milliseconds(static_cast<int64_t>(o.shutdown_grace_s * 1000));
  auto listener = server::http::HttpServer::start(http, std::move(router));
  if (!listener.ok()) {
    std::fprintf(stderr, "error: %s\n", listener.status().message().c_str());
    return 1;
  }
  std::fprintf(stderr, "listening on http://%s:%u (loading the model; /health answers 503)\n",
               (*listener)->address().c_str(), (*listener)->port());

  std::error_code ec;
  const auto file_bytes = std::filesystem::file_size(o.model_path, ec);
  std::fprintf(stderr, "loading %s (%.1f MiB) ...\n", o.model_path.c_str(),
               ec ? 0.0 : file_bytes / 1048576.0);
  auto loaded = load_model_on_device(o.model_path, o.device);
  if (!loaded.ok()) {
    std::fprintf(stderr, "error: %s\n", loaded.status().message().c_str());
    return 1;
  }
  auto chat_template = chat_template_from_gguf(*loaded->file);
  if (!chat_template.ok()) {
    std::fprintf(stderr, "warning: %s; chat requests use ChatML\n",
                 chat_template.status().message().c_str());
    chat_template = ModelChatTemplate{ChatTemplate::chatml(), "", "", true};
  }
  const ModelConfig& c = loaded->model->config();
  const std::string name = !o.served_model_name.empty() ? o.served_model_name
                           : !c.name.empty()            ? c.name
                                             : std::filesystem::path(o.model_path).stem().string();
  ServingOptions so;
  so.threads = o.threads > 0 ? o.threads : static_cast<int>(std::thread::hardware_concurrency());
  so.kv_cache_bytes = kv_cache_budget(o.kv_cache_gib, loaded->model->backend());
  so.kv_type = kv_type_from_option(o.kv_type);
  so.max_num_seqs = o.max_num_seqs;
  so.max_batch_tokens = o.max_batch_tokens;
  so.prefill_first = o.prefill_first;
  so.max_waiting = o.max_queue;
  so.max_context = o.ctx;
  so.request_timeout_s = o.request_timeout_s;
  auto engine = ServingEngine::create(*loaded->model, *loaded->tokenizer, so);
  if (!engine.ok()) {
    std::fprintf(stderr, "error: %s\n", engine.status().message().c_str());
    return 1;
  }
  auto metrics = server::ServingMetrics::create(name);
  if (!metrics.ok()) {
    std::fprintf(stderr, "error: %s\n", metrics.status().message().c_str());
    return 1;
  }
  std::fprintf(stderr, "%s\n", (*metrics)->gpu_metrics_status().c_str());
  (*engine)->start();
  const EngineStats stats = (*engine)->stats();
  service.set_ready({engine->get(), loaded->tokenizer.get(), &*chat_template, metrics->get(), name,
                     c.n_vocab, static_cast<int64_t>(std::time(nullptr))});
  std::fprintf(
      stderr,
      "ready: serving '%s' (%s, %lld layers, context %lld) on http://%s:%u with %d "
      "threads, device %s, KV cache %lld blocks of 16 tokens (%.2f GiB, %s), chat template %s%s\n",
      name.c_str(), c.arch.c_str(), static_cast<long long>(c.n_layer),
      static_cast<long long>((*engine)->max_context()), (*listener)->address().c_str(),
      (*listener)->port(), so.threads, loaded->model->backend().description().c_str(),
      static_cast<long long>(stats.kv_blocks), so.kv_cache_bytes / (1ull << 30), o.kv_type.c_str(),
      chat_template->is_fallback ? "ChatML (fallback)" : "from the model",
      o.api_key.empty() ? "" : ", API key required");

  int sig = 0;
  sigwait(&signals, &sig);
  std::fprintf(stderr, "signal %d: finishing in-flight requests (grace %.0f s) ...\n", sig,
               o.shutdown_grace_s);
  (*listener)->shutdown();
  (*engine)->stop();
  std::fprintf(stderr, "stopped\n");
  return 0;
}

}  // namespace

Action register_serve(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve a model over an OpenAI-compatible HTTP API");
  cmd->add_option("-m,--model", o->model_path, "GGUF model file")->required();
  cmd->add_option("--host", o->host, "Address to bind")->capture_default_str();
  cmd->add_option("--port", o->port, "Port (0 = any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("-t,--threads", o->threads, "Compute threads (default: all cores)");
  cmd->add_option("--io-threads", o->io_threads, "HTTP I/O threads")->capture_default_str();
  add_device_option(cmd, &o->device);
  cmd->add_option("--kv-cache-gib", o->kv_cache_gib,
                  "KV cache size in GiB (default: 1 on the CPU; on a GPU, 90% of the device "
                  "memory left after the weights, less 1 GiB for activations)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  add_kv_type_option(cmd, &o->kv_type);
  cmd->add_option("--max-num-seqs", o->max_num_seqs, "Sequences in the running batch")
      ->capture_default_str();
  cmd->add_option("--max-batch-tokens", o->max_batch_tokens, "Tokens per forward pass")
      ->capture_default_str();
  cmd->add_flag("--prefill-first", o->prefill_first,
                "Give each step's token budget to prompt chunks before decode tokens (lower TTFT "
                "under bursts of prompts, longer pauses in running streams)");
  cmd->add_option("--max-queue", o->max_queue, "Waiting requests before 429")
      ->capture_default_str();
  cmd->add_option("-c,--ctx", o->ctx, "Context length (default: the model's)");
  cmd->add_option("--api-key", o->api_key, "Require 'Authorization: Bearer KEY'");
  cmd->add_option("--served-model-name", o->served_model_name, "Model name in the API");
  cmd->add_option("--max-body-mib", o->max_body_mib, "Largest request body")->capture_default_str();
  cmd->add_option("--shutdown-grace", o->shutdown_grace_s, "Seconds in-flight requests may finish")
      ->capture_default_str();
  cmd->add_option("--request-timeout", o->request_timeout_s,
                  "Seconds before an unfinished request is cancelled (408); 0 = never")
      ->capture_default_str();
  return [o] { return serve(*o); };
}

}  // namespace tenbin::cli
