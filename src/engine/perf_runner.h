// The engine's own throughput benchmark (what `tenbin perf` runs, in the spirit of
// llama-bench): prompt processing (ppN: N prompt tokens in one batch) and text generation
// (tgN: N single-token decode steps), each repeated, reported as the median with its spread,
// and set against the machine's measured limits. Both start from an empty context, or after
// `depth` tokens already in the KV cache (llama-bench's -d), which is where attention shows.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "backend/op_profile.h"
#include "kernels/probe/machine_limits.h"
#include "model/arch/llama_model.h"
#include "util/status.h"

namespace tenbin {

struct PerfOptions {
  int32_t prompt_tokens = 512;    // pp test; 0 skips it
  int32_t generate_tokens = 128;  // tg test; 0 skips it
  int32_t repetitions = 3;
  int32_t depth = 0;     // tokens in the KV cache before each test (prefilled once, not timed)
  bool profile = false;  // time every backend op of the measured repetitions
  DType kv_type = DType::kF16;  // the KV cache's element type
  uint64_t seed = 1;
};

struct PerfResult {
  std::string test;   // "pp512", "tg128"
  int32_t depth = 0;  // context tokens already cached when the test starts
  int threads = 1;
  double tokens_per_s = 0;  // median over repetitions
  double tokens_per_s_min = 0;
  double tokens_per_s_max = 0;
  double bytes_per_token = 0;  // bytes read from memory per token (weights + KV cache)
  double flops_per_token = 0;  // a full forward of one token (flops_per_token below)
  // What the engine executes per token: in a prefill the logits and the last layer's output
  // projection and MLP run for the last prompt token only (output_only_flops).
  double executed_flops_per_token = 0;
  double fraction_of_limit = 0;  // decode: of memory bandwidth; prefill: of peak arithmetic
  std::string limit;             // "mem_read_gbs", "peak_int8_gops" or "peak_f32_gflops"
  // With PerfOptions::profile: wall time per op kind over the measured repetitions, and their
  // whole time and token count (what the op shares are of).
  std::optional<backend::OpProfile> profile;
  double measured_seconds = 0;
  int64_t measured_tokens = 0;
};

// True when matmuls with `type` weights run on int8 dot products (quantized types), so prefill
// is set against the int8 peak rather than the f32 FMA peak.
bool integer_kernels(DType type);

// The arithmetic peak a prefill of `weight_type` is measured against, and its JSON name: a
// GPU's matmul peak, int8 dots for the integer formats, bf16 dots for BF16 where the CPU has
// them (the packed BF16 matmul issues vdpbf16ps), f32 FMA otherwise.
struct PrefillPeak {
  const char* name;
  double value;
};
PrefillPeak prefill_peak(const kernels::MachineLimits& limits, DType weight_type);

// Matmul and attention arithmetic of one token at context position `pos`.
double flops_per_token(const ModelConfig& config, double pos);
// The part of flops_per_token only tokens that want logits need: the LM head and the last
// layer's output projection and MLP.
double output_only_flops(const ModelConfig& config);
// Bytes a decode step reads at context position `pos`: every weight matrix once plus the
// K/V rows of all earlier positions in a cache of `kv_type`.
double decode_bytes_per_token(const LlamaModel& model, double pos, DType kv_type = DType::kF16);

// Runs the tests and sets them against `limits`. When `reprobe_bandwidth` is given it is called
// after every decode repetition and limits.mem_read_gbs keeps the largest reading: on machines
// whose memory bandwidth changes over seconds (shared VMs), a probe taken only before the test
// can read slower than the decode that follows it.
Expected<std::vector<PerfResult>> run_perf(LlamaModel& model, ThreadPool& pool,
                                           kernels::MachineLimits& limits,
                                           const PerfOptions& options,
                                           const std::function<double()>& reprobe_bandwidth = {});

}  // namespace tenbin
