// The roofline time model: the planner's per-token arithmetic agrees with the engine's own
// (what `tenbin perf` reports), decode is bandwidth-bound until batching makes it compute-bound,
// and the load model queues as it should.
#include <string>

#include <gtest/gtest.h>

#include "engine/perf_runner.h"
#include "model/loaded_model.h"
#include "planner/catalog.h"
#include "planner/gguf_model.h"
#include "planner/model_presets.h"
#include "planner/perf_model.h"
#include "planner/serving_model.h"
#include "unit/test_data.h"

namespace tenbin::planner {
namespace {

const Catalog& catalog() {
  static const Catalog c = *load_catalog({});
  return c;
}

DeviceGroup group(const char* id, int tp = 1) {
  const Device* d = catalog().find(id);
  return {d, tp, d->efficiency.value_or(catalog().default_gpu_efficiency)};
}

TEST(PlannerPerf, ArithmeticMatchesTheEngine) {
  for (const char* path :
       {"models/stories260K.gguf", "models/synthetic/mini-llama-random-q4_0.gguf",
        "models/synthetic/mini-qwen2-random-f16.gguf"}) {
    auto loaded = LoadedModel::load(test::shared_path(path));
    ASSERT_TRUE(loaded.ok()) << loaded.status().message();
    auto spec = model_spec_from_gguf_path(test::shared_path(path));
    ASSERT_TRUE(spec.ok()) << spec.status().message();
    // The same weights, but for 1-D norm and bias vectors the engine copies out at load.
    EXPECT_NEAR(static_cast<double>(step_weight_bytes(*spec, "")),
                static_cast<double>(loaded->model->weight_bytes()),
                0.006 * loaded->model->weight_bytes())
        << path;
    for (double pos : {0.0, 7.0, 100.0}) {
      EXPECT_DOUBLE_EQ(flops_per_token(*spec, pos), flops_per_token(loaded->model->config(), pos))
          << path;
    }
  }
}

TEST(PlannerPerf, DecodeIsBandwidthBoundAtBatchOne) {
  const ModelSpec m = *find_model_preset("llama-2-7b");
  const DeviceGroup g = group("h100");
  const StepCost s = decode_step(m, "f16", g, 1, 100);
  EXPECT_FALSE(s.compute_bound());
  const double bytes = step_weight_bytes(m, "f16") + 100 * kv_bytes_per_token(m);
  EXPECT_DOUBLE_EQ(s.bytes, bytes);
  EXPECT_NEAR(s.seconds, bytes / (3350e9 * 0.75) + 0.002, 1e-12);
  // Batching: weights read once per step, so 64 sequences cost far less than 64 steps...
  const StepCost b64 = decode_step(m, "f16", g, 64, 100);
  EXPECT_LT(b64.seconds, 4 * s.seconds);
  // ...and with short contexts a few hundred sequences make the step compute-bound.
  EXPECT_TRUE(decode_step(m, "f16", g, 512, 10).compute_bound());
  // A 4-bit model reads less than a third of the bytes.
  EXPECT_LT(decode_step(m, "q4_0", g, 1, 100).memory_s, 0.32 * s.memory_s);
}

TEST(PlannerPerf, PrefillIsComputeBoundAndTensorParallelPaysForCommunication) {
  const ModelSpec m = *find_model_preset("llama-2-13b");
  const StepCost one = prefill(m, "f16", group("a100-80g"), 512);
  EXPECT_TRUE(one.compute_bound());
  // Every prompt token goes through the blocks; only the last one through the last layer's
  // attention output and MLP (after its K/V are stored) and the output matrix.
  EXPECT_DOUBLE_EQ(logits_flops(m), 2.0 * 5120 * 32000);
  EXPECT_DOUBLE_EQ(output_only_flops(m),
                   logits_flops(m) + 2.0 * (5120.0 * 5120 + 3 * 5120.0 * 13824));
  EXPECT_DOUBLE_EQ(prefill_flops(m, 512),
                   512 * flops_per_token(m, 256) - 511 * output_only_flops(m));
  EXPECT_NEAR(one.compute_s, prefill_flops(m, 512) / (312e12 * 0.5), 1e-12);
  EXPECT_EQ(one.comm_s, 0);
  const StepCost two = prefill(m, "f16", group("a100-80g", 2), 512);
  EXPECT_GT(two.comm_s, 0);
  EXPECT_LT(two.seconds, one.seconds);
  EXPECT_GT(two.seconds, one.seconds / 2);  // communication eats part of the split
}

TEST(PlannerPerf, LoadModelQueues) {
  const ModelSpec m = *find_model_preset("llama-2-7b");
  const DeviceGroup g = group("a10");
  const Workload w{.concurrency = 1, .input_len = 512, .output_len = 200};
  const LoadPrediction alone = predict_load(m, "q4_0", g, w, 1, 40);
  // Alone: TTFT is the prefill, TPOT one decode step, both exactly.
  EXPECT_DOUBLE_EQ(alone.ttft_mean_ms, alone.prefill.seconds * 1000);
  EXPECT_DOUBLE_EQ(alone.ttft_p99_ms, alone.prefill.seconds * 1000);
  EXPECT_DOUBLE_EQ(alone.tpot_ms, alone.decode.seconds * 1000);
  EXPECT_NEAR(alone.requests_per_s, 1 / (alone.prefill.seconds + 199 * alone.decode.seconds), 1e-9);
  const LoadPrediction busy = predict_load(m, "q4_0", g, w, 32, 40);
  EXPECT_GT(busy.tpot_ms, alone.tpot_ms);
  EXPECT_GT(busy.ttft_p99_ms, alone.ttft_p99_ms);
  EXPECT_GT(busy.requests_per_s, 5 * alone.requests_per_s);  // batching
  EXPECT_EQ(busy.queued, 0);
  // More requests than the KV cache holds: the rest wait for slots.
  const LoadPrediction full = predict_load(m, "q4_0", g, w, 80, 40);
  EXPECT_EQ(full.running, 40);
  EXPECT_EQ(full.queued, 40);
  EXPECT_GT(full.ttft_p99_ms, busy.ttft_p99_ms + 1000);
}

TEST(PlannerPerf, EncoderLatencyCountsPasses) {
  const ModelSpec bert = *find_model_preset("bert-base");
  const DeviceGroup g = group("t4");
  const Workload w{.kind = "embed", .concurrency = 1, .input_len = 128, .batch = 1};
  const LoadPrediction one = predict_load(bert, "f16", g, w, 1, 1000);
  EXPECT_GT(one.latency_p99_ms, 0);
  const LoadPrediction four = predict_load(bert, "f16", g, w, 4, 1000);
  EXPECT_DOUBLE_EQ(four.latency_p99_ms, 4 * one.latency_p99_ms);  // batch 1: 4 passes
  const ModelSpec yolo = *find_model_preset("yolov5s");
  const StepCost img = encoder_pass(yolo, "f16", g, 1, 0, 640);
  EXPECT_NEAR(img.flops, 16.5e9, 1);
  EXPECT_NEAR(encoder_pass(yolo, "f16", g, 1, 0, 1280).flops, 4 * 16.5e9, 1);
}

}  // namespace
}  // namespace tenbin::planner
