// `tenbin synth --preset NAME --type TYPE -o FILE.gguf`: parses the options and prints a
// summary; the model is built by model/synth/synth_model.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "model/quantize/quantize_model.h"
#include "model/synth/presets.h"
#include "model/synth/synth_model.h"

namespace tenbin::cli {
namespace {

struct SynthArgs {
  std::string preset;
  std::string type = "q4_0";
  std::string output;
  uint64_t seed = 1;
  int64_t layers = 0;
  int threads = 0;
  bool list = false;
};

void list_presets() {
  std::printf("%-16s %-6s %7s %6s %6s %5s %4s %6s %6s  %s\n", "preset", "arch", "vocab", "embd",
              "layers", "heads", "kv", "ffn", "ctx", "shape of");
  for (const synth::ModelPreset& p : synth::model_presets()) {
    std::printf("%-16s %-6s %7lld %6lld %6lld %5lld %4lld %6lld %6lld  %s\n", p.name.c_str(),
                p.arch.c_str(), static_cast<long long>(p.n_vocab), static_cast<long long>(p.n_embd),
                static_cast<long long>(p.n_layer), static_cast<long long>(p.n_head),
                static_cast<long long>(p.n_head_kv), static_cast<long long>(p.n_ff),
                static_cast<long long>(p.n_ctx), p.source.c_str());
  }
}

int run_synth(const SynthArgs& args) {
  if (args.list) {
    list_presets();
    return 0;
  }
  if (args.preset.empty() || args.output.empty()) {
    std::fprintf(stderr, "tenbin synth: --preset and -o are required (presets: %s)\n",
                 synth::preset_names().c_str());
    return 1;
  }
  Expected<QuantTarget> type = parse_quant_target(args.type);
  if (!type.ok()) {
    std::fprintf(stderr, "tenbin synth: %s\n", type.status().message().c_str());
    return 1;
  }
  synth::SynthOptions options;
  options.preset = args.preset;
  options.type = *type;
  options.seed = args.seed;
  options.layers = args.layers;
  options.threads = args.threads;
  Expected<synth::ModelPreset> preset = synth::resolve_preset(options);
  if (!preset.ok()) {
    std::fprintf(stderr, "tenbin synth: %s\n", preset.status().message().c_str());
    return 1;
  }
  std::printf("synth: %s (shape of %s), %lld layers, %s, seed %llu -> %s\n", preset->name.c_str(),
              preset->source.c_str(), static_cast<long long>(preset->n_layer), args.type.c_str(),
              static_cast<unsigned long long>(args.seed), args.output.c_str());
  std::fflush(stdout);
  Expected<synth::SynthSummary> summary = synth::synth_model(options, args.output);
  if (!summary.ok()) {
    std::fprintf(stderr, "tenbin synth: %s\n", summary.status().message().c_str());
    return 1;
  }
  std::printf("synth: wrote '%s': %zu tensors, %.3f B params, %.2f MiB in %.2f s\n",
              summary->name.c_str(), summary->n_tensors, summary->n_params / 1e9,
              summary->file_bytes / 1048576.0, summary->seconds);
  return 0;
}

}  // namespace

Action register_synth(CLI::App& app) {
  auto args = std::make_shared<SynthArgs>();
  CLI::App* sub = app.add_subcommand(
      "synth", "Write a random-weight GGUF model with the exact shape of a real one");
  sub->add_option("-p,--preset", args->preset, "Model shape: " + synth::preset_names());
  sub->add_option("--type", args->type,
                  "Weight type or mix: " + quant_target_names() +
                      ". q4_k_m (q5_k_m): output.weight q6_K; attn_v/ffn_down q6_K on layers "
                      "i < n/8, i >= 7n/8 and (i - n/8) % 3 == 2, q4_K (q5_K) elsewhere; other "
                      "matrices q4_K (q5_K); f16 where a row length is not a multiple of 256")
      ->capture_default_str();
  sub->add_option("-o,--output", args->output, "Output GGUF file");
  sub->add_option("--seed", args->seed, "PRNG seed (same seed, same file)")->capture_default_str();
  sub->add_option("--layers", args->layers, "Override the block count (quick demos)")
      ->check(CLI::Range(int64_t{1}, int64_t{1024}));
  sub->add_option("-t,--threads", args->threads, "Threads (0: all cores)")
      ->check(CLI::Range(0, 256));
  sub->add_flag("--list", args->list, "List the presets and exit");
  return [args] { return run_synth(*args); };
}

}  // namespace tenbin::cli
