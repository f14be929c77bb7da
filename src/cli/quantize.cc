// `tenbin quantize IN.gguf OUT.gguf TYPE`: parses the options and prints progress; the work is
// done by model/quantize/quantize_model.
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.h"
#include "model/quantize/quantize_model.h"

namespace tenbin::cli {
namespace {

struct QuantizeArgs {
  std::string input;
  std::string output;
  std::string type;
  int threads = 0;
};

std::string mib(uint64_t bytes) {
  return fmt::format("{:.2f} MiB", bytes / 1048576.0);
}

int run_quantize(const QuantizeArgs& args) {
  Expected<QuantTarget> target = parse_quant_target(args.type);
  if (!target.ok()) {
    std::fprintf(stderr, "tenbin quantize: %s\n", target.status().message().c_str());
    return 1;
  }
  QuantizeOptions options;
  options.input_path = args.input;
  options.output_path = args.output;
  options.target = *target;
  options.threads = args.threads;
  std::printf("quantize: %s -> %s (%s)\n", args.input.c_str(), args.output.c_str(),
              target->name().c_str());
  Expected<QuantizeReport> report = quantize_model(options, [](const TensorReport& t) {
    std::string dims = fmt::format("[{}]", fmt::join(t.dims, ", "));
    std::string line = fmt::format("  {:<32} {:<16} {:>5} -> {:<5} {:>12} -> {:>12} {:7.2f} s",
                                   t.name, dims, dtype_name(t.from), dtype_name(t.to),
                                   mib(t.bytes_before), mib(t.bytes_after), t.seconds);
    if (!t.note.empty()) line += "  (" + t.note + ")";
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  });
  if (!report.ok()) {
    std::fprintf(stderr, "tenbin quantize: %s\n", report.status().message().c_str());
    return 1;
  }
  int fallbacks = 0;
  for (const TensorReport& t : report->tensors) fallbacks += t.note.empty() ? 0 : 1;
  double ratio = report->bytes_before > 0
                     ? static_cast<double>(report->bytes_after) / report->bytes_before
                     : 1.0;
  std::printf("quantize: %zu tensors, %s -> %s (%.1f%%), %d kept a fallback type, %.2f s\n",
              report->tensors.size(), mib(report->bytes_before).c_str(),
              mib(report->bytes_after).c_str(), ratio * 100, fallbacks, report->seconds);
  return 0;
}

}  // namespace

Action register_quantize(CLI::App& app) {
  auto args = std::make_shared<QuantizeArgs>();
  CLI::App* sub = app.add_subcommand(
      "quantize",
      "Convert the weight matrices of a GGUF model to q8_0, q4_0, q4_k_m, q4_k, q5_k_m, q5_k, "
      "q6_k, f16, bf16 or f32. q4_k_m and q5_k_m are mixes (as llama.cpp's Q4_K_M, Q5_K_M): "
      "output.weight q6_K; attn_v and ffn_down q6_K on layers i < n/8, i >= 7n/8 and every "
      "third in between ((i - n/8) % 3 == 2), q4_K (q5_K) elsewhere; all other weight matrices "
      "q4_K (q5_K). Weights whose row "
      "length is not a multiple of the type's block size are stored as f16 (bf16 stays bf16). "
      "Norms, biases and 1-D tensors are copied; already-quantized weights are copied only "
      "when they already have their target type");
  sub->add_option("input", args->input, "Input GGUF file (f32/f16/bf16 weights)")->required();
  sub->add_option("output", args->output, "Output GGUF file")->required();
  sub->add_option("type", args->type, "Target type or mix: " + quant_target_names())->required();
  sub->add_option("-t,--threads", args->threads, "Threads (0: all cores)")
      ->check(CLI::Range(0, 256));
  return [args] { return run_quantize(*args); };
}

}  // namespace tenbin::cli
