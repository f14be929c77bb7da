// `tenbin run`: generate text from a prompt on the CPU (or a GPU with --device), streaming it
// to stdout, then print the prompt and generation speed to stderr.
#include <cstdio>
#include <string>
#include <thread>

#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/kv_type_option.h"
#include "engine/generator.h"
#include "model/loaded_model.h"

namespace tenbin::cli {
namespace {

struct RunOptions {
  std::string model_path;
  std::string prompt = "Once upon a time";
  int32_t n_predict = 64;
  int32_t threads = 0;
  int64_t ctx = 0;
  int32_t batch = 512;
  bool no_bos = false;
  bool ignore_eos = false;
  std::string kv_type = "f16";
  std::string device = "cpu";
  SamplingParams sampling;
};

int run(const RunOptions& o) {
  auto loaded = load_model_on_device(o.model_path, o.device);
  if (!loaded.ok()) {
    std::fprintf(stderr, "error: %s\n", loaded.status().message().c_str());
    return 1;
  }
  LlamaModel& model = *loaded->model;
  const Tokenizer& tokenizer = *loaded->tokenizer;
  const ModelConfig& c = model.config();

  int64_t n_ctx = o.ctx > 0 ? o.ctx : std::min<int64_t>(c.n_ctx_train, 4096);
  auto cache = model.make_kv_cache(KvCache::blocks_for(n_ctx), kv_type_from_option(o.kv_type));
  if (!cache.ok()) {
    std::fprintf(stderr, "error: %s\n", cache.status().message().c_str());
    return 1;
  }
  int threads = o.threads > 0 ? o.threads : static_cast<int>(std::thread::hardware_concurrency());
  ThreadPool pool(std::max(1, threads));

  std::vector<int32_t> prompt = tokenizer.encode(o.prompt, !o.no_bos, true);
  std::fprintf(stderr, "model: %s (%s, %lld layers, embd %lld, vocab %lld)\n",
               c.name.empty() ? o.model_path.c_str() : c.name.c_str(), c.arch.c_str(),
               static_cast<long long>(c.n_layer), static_cast<long long>(c.n_embd),
               static_cast<long long>(c.n_vocab));
  std::fprintf(stderr, "prompt: %zu tokens, context %lld, %d threads, device %s\n", prompt.size(),
               static_cast<long long>(n_ctx), pool.size(), model.backend().description().c_str());

  std::fputs(o.prompt.c_str(), stdout);
  std::fflush(stdout);
  StreamingDetokenizer detok(tokenizer);
  GenerateOptions g;
  g.max_new_tokens = o.n_predict;
  g.prefill_chunk = o.batch;
  g.n_ctx = n_ctx;
  g.stop_at_end_of_generation = !o.ignore_eos;
  g.sampling = o.sampling;
  GenerateStats stats;
  Status st = Generator(model, tokenizer, pool)
                  .generate(
                      prompt, g, *cache,
                      [&](int32_t token) {
                        std::string text = detok.push(token);
                        std::fwrite(text.data(), 1, text.size(), stdout);
                        std::fflush(stdout);
                        return true;
                      },
                      &stats);
  std::string rest = detok.flush();
  std::fwrite(rest.data(), 1, rest.size(), stdout);
  std::fputc('\n', stdout);
  if (!st.ok()) {
    std::fprintf(stderr, "error: %s\n", st.message().c_str());
    return 1;
  }
  const int64_t decode_steps = std::max<int64_t>(0, stats.generated_tokens - 1);
  std::fprintf(stderr, "prompt: %lld tokens in %.3f s (%.2f tokens/s)\n",
               static_cast<long long>(stats.prompt_tokens), stats.prompt_seconds,
               stats.prompt_seconds > 0 ? stats.prompt_tokens / stats.prompt_seconds : 0.0);
  std::fprintf(stderr, "generation: %lld tokens in %.3f s (%.2f tokens/s)\n",
               static_cast<long long>(stats.generated_tokens), stats.generate_seconds,
               stats.generate_seconds > 0 ? decode_steps / stats.generate_seconds : 0.0);
  return 0;
}

}  // namespace

Action register_run(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Generate text from a prompt on the CPU");
  cmd->add_option("-m,--model", o->model_path, "GGUF model file")->required();
  cmd->add_option("-p,--prompt", o->prompt, "Prompt text")->capture_default_str();
  cmd->add_option("-n,--n-predict", o->n_predict, "Tokens to generate")->capture_default_str();
  cmd->add_option("-t,--threads", o->threads, "CPU threads (default: all cores)");
  cmd->add_option("-c,--ctx", o->ctx, "Context length (default: the model's, at most 4096)");
  cmd->add_option("-b,--batch", o->batch, "Prompt tokens per forward pass")->capture_default_str();
  cmd->add_option("--temp", o->sampling.temperature, "Temperature; 0 = greedy")
      ->capture_default_str();
  cmd->add_option("--top-k", o->sampling.top_k, "Top-k; 0 = off")->capture_default_str();
  cmd->add_option("--top-p", o->sampling.top_p, "Top-p; 1 = off")->capture_default_str();
  cmd->add_option("--min-p", o->sampling.min_p, "Min-p; 0 = off")->capture_default_str();
  cmd->add_option("--repeat-penalty", o->sampling.repeat_penalty, "Repetition penalty; 1 = off")
      ->capture_default_str();
  cmd->add_option("--repeat-last-n", o->sampling.repeat_last_n, "Tokens the penalty looks back")
      ->capture_default_str();
  cmd->add_option("--presence-penalty", o->sampling.presence_penalty)->capture_default_str();
  cmd->add_option("--frequency-penalty", o->sampling.frequency_penalty)->capture_default_str();
  cmd->add_option("-s,--seed", o->sampling.seed, "Random seed")->capture_default_str();
  add_kv_type_option(cmd, &o->kv_type);
  add_device_option(cmd, &o->device);
  cmd->add_flag("--no-bos", o->no_bos, "Do not add the BOS token");
  cmd->add_flag("--ignore-eos", o->ignore_eos, "Keep generating after end-of-generation tokens");
  return [o] { return run(*o); };
}

}  // namespace tenbin::cli
