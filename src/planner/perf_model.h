// The roofline time model of one forward step on one device group: a step reads its bytes
// (weights once per step, K/V rows per sequence) at the device's bandwidth x efficiency and
// does its FLOPs at the device's peak x efficiency; the slower of the two sets the time (the
// hardware overlaps them), plus a fixed per-step overhead and, under tensor parallelism, two
// all-reduces per layer over the interconnect.
#pragma once

#include <cstdint>
#include <string>

#include "planner/catalog.h"
#include "planner/model_spec.h"

namespace tenbin::planner {

// One device group (a replica): `tp` devices sharing the model by tensor parallelism.
struct DeviceGroup {
  const Device* device = nullptr;
  int tp = 1;
  Efficiency efficiency;
};

struct StepCost {
  double bytes = 0;  // per device
  double flops = 0;  // per device
  double memory_s = 0;
  double compute_s = 0;
  double comm_s = 0;
  double overhead_s = 0;
  double seconds = 0;
  bool compute_bound() const { return compute_s > memory_s; }
};

// Dense peak (FLOP/s) of one device for a quantization: GPUs run weight-only quantized
// matmuls on FP16 tensor cores (dequantizing on the fly); CPUs run quantized types on int8
// dot products and float types on f32 FMA.
double peak_flops(const Device& d, const std::string& quant);
// The efficiency factors for a quantization: the shared factor (the int8 one for quantized
// types on CPUs) times the multiplier of the quantization's kernel type, when calibrated.
double compute_efficiency(const Device& d, const Efficiency& e, const std::string& quant);
double bandwidth_efficiency(const Efficiency& e, const std::string& quant);

// The quant name that decides the arithmetic path: `quant`, or the file's own when "".
std::string effective_quant(const ModelSpec& m, const std::string& quant);

// Combine a step's bytes and FLOPs (per device) into time on the group.
StepCost roofline(const DeviceGroup& g, const std::string& quant, double bytes, double flops,
                  double comm_tokens, int64_t n_layer, int64_t n_embd);

// Decoders: one decode step of `batch` sequences whose context averages `context` tokens.
StepCost decode_step(const ModelSpec& m, const std::string& quant, const DeviceGroup& g,
                     int64_t batch, double context);
// Decoders: the prefill of one prompt of `tokens` tokens (one step, as chunked prefill with a
// budget of at least that many tokens runs it; prefill_flops()).
StepCost prefill(const ModelSpec& m, const std::string& quant, const DeviceGroup& g,
                 int64_t tokens);
// Encoders and vision models: one forward pass over `batch` requests.
StepCost encoder_pass(const ModelSpec& m, const std::string& quant, const DeviceGroup& g,
                      int64_t batch, int64_t tokens, int64_t image_size);

}  // namespace tenbin::planner
