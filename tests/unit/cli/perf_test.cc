// `tenbin perf --json` as tooling reads it: the documented fields are present and consistent
// (speeds positive, fractions computed from the stated limits). No speed is asserted here:
// speed goals live in the benchmark figures, not in tests.
#include <map>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/perf_runner.h"
#include "kernels/probe/machine_limits.h"
#include "model/loaded_model.h"
#include "unit/test_util.h"

namespace tenbin {
namespace {

TEST(PerfCommand, JsonHasTheDocumentedFields) {
  const test::CommandResult perf = test::run_tenbin(
      "perf -m " + test::shared_path("models/stories260K.gguf") + " -p 32 -n 16 -r 1 -t 1 --json",
      /*merge_stderr=*/false);
  const int code = perf.exit_code;
  const std::string& out = perf.output;
  ASSERT_EQ(code, 0) << out;
  nlohmann::json j = nlohmann::json::parse(out);
  EXPECT_EQ(j["type"], "f32");
  EXPECT_EQ(j["kv_type"], "f16");
  EXPECT_EQ(j["threads"], 1);
  EXPECT_GT(j["limits"]["mem_read_gbs"].get<double>(), 0);
  EXPECT_GT(j["limits"]["peak_gflops"].get<double>(), 0);
  ASSERT_EQ(j["results"].size(), 2u);
  EXPECT_EQ(j["results"][0]["test"], "pp32");
  EXPECT_EQ(j["results"][1]["test"], "tg16");
  for (const auto& r : j["results"]) {
    EXPECT_GT(r["tokens_per_s"].get<double>(), 0);
    EXPECT_GT(r["bytes_per_token"].get<double>(), 0);
    EXPECT_GT(r["fraction_of_limit"].get<double>(), 0);
  }
  // Decode fraction = tokens/s x bytes/token / bandwidth.
  const auto& tg = j["results"][1];
  EXPECT_NEAR(tg["fraction_of_limit"].get<double>(),
              tg["tokens_per_s"].get<double>() * tg["bytes_per_token"].get<double>() /
                  (j["limits"]["mem_read_gbs"].get<double>() * 1e9),
              1e-9);
  // Prefill fraction = tokens/s x executed FLOPs/token / peak, where the executed FLOPs leave
  // out the logits and the last layer's MLP for all prompt tokens but the last.
  const auto& pp = j["results"][0];
  const double executed = pp["executed_flops_per_token"].get<double>();
  EXPECT_LT(executed, pp["flops_per_token"].get<double>());
  EXPECT_NEAR(pp["fraction_of_limit"].get<double>(),
              pp["tokens_per_s"].get<double>() * executed /
                  (j["limits"]["peak_gflops"].get<double>() * 1e9),
              1e-9);
  EXPECT_EQ(tg["executed_flops_per_token"].get<double>(), tg["flops_per_token"].get<double>());
}

TEST(PerfCommand, BadThreadListIsAClearError) {
  const test::CommandResult perf =
      test::run_tenbin("perf -m " + test::shared_path("models/stories260K.gguf") + " -t two");
  const int code = perf.exit_code;
  const std::string& out = perf.output;
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("'two' is not a thread count"), std::string::npos) << out;
}

// -d: the tests start after `depth` cached tokens; bytes and FLOPs per token are counted at
// that context, and a depth past the model's context is a clear error.
TEST(PerfCommand, DepthRunsTheTestsAfterCachedTokens) {
  const std::string model = test::shared_path("models/stories260K.gguf");
  auto run = [&](int depth) {
    const test::CommandResult perf = test::run_tenbin(
        "perf -m " + model + " -p 16 -n 8 -r 1 -t 1 --json -d " + std::to_string(depth),
        /*merge_stderr=*/false);
    EXPECT_EQ(perf.exit_code, 0) << perf.output;
    return nlohmann::json::parse(perf.output);
  };
  const nlohmann::json flat = run(0), deep = run(200);
  ASSERT_EQ(deep["results"].size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(flat["results"][i]["depth"], 0);
    EXPECT_EQ(deep["results"][i]["depth"], 200);
    EXPECT_GT(deep["results"][i]["tokens_per_s"].get<double>(), 0);
    EXPECT_GT(deep["results"][i]["flops_per_token"].get<double>(),
              flat["results"][i]["flops_per_token"].get<double>());
  }
  // Decode reads the K/V rows of the cached context too: 2 (K, V) x layers x kv_dim x 2 bytes
  // per position, here 200 positions more.
  auto m = LoadedModel::load(model);
  ASSERT_TRUE(m.ok());
  const ModelConfig& c = m->model->config();
  EXPECT_NEAR(deep["results"][1]["bytes_per_token"].get<double>() -
                  flat["results"][1]["bytes_per_token"].get<double>(),
              200.0 * 2 * c.n_layer * c.kv_dim() * 2, 1e-6);

  const test::CommandResult too_deep = test::run_tenbin(
      "perf -m " + model + " -p 16 -n 8 -r 1 -t 1 -d " + std::to_string(c.n_ctx_train));
  EXPECT_EQ(too_deep.exit_code, 1);
  EXPECT_NE(too_deep.output.find("exceed the model's context"), std::string::npos)
      << too_deep.output;
}

// --profile: each test carries the op kinds' shares of its measured time; they and "other"
// add up to the whole, and a decode step calls attention once per layer.
TEST(PerfCommand, ProfileSharesAddUpToTheMeasuredTime) {
  const std::string model = test::shared_path("models/stories260K.gguf");
  const test::CommandResult perf =
      test::run_tenbin("perf -m " + model + " -p 16 -n 8 -r 2 -t 1 --json --profile",
                       /*merge_stderr=*/false);
  ASSERT_EQ(perf.exit_code, 0) << perf.output;
  const nlohmann::json j = nlohmann::json::parse(perf.output);
  auto m = LoadedModel::load(model);
  ASSERT_TRUE(m.ok());
  for (const auto& r : j["results"]) {
    ASSERT_TRUE(r.contains("profile")) << r.dump();
    double sum = 0;
    std::map<std::string, nlohmann::json> by_op;
    for (const auto& op : r["profile"]) {
      sum += op["share"].get<double>();
      by_op[op["op"].get<std::string>()] = op;
    }
    EXPECT_NEAR(sum, 1.0, 1e-9);
    ASSERT_TRUE(by_op.count("matmul") && by_op.count("attention") && by_op.count("other"));
    EXPECT_GT(by_op["matmul"]["share"].get<double>(), 0);
    EXPECT_GE(by_op["other"]["share"].get<double>(), 0);
    if (r["test"] == "tg8") {
      EXPECT_DOUBLE_EQ(by_op["attention"]["calls_per_token"].get<double>(),
                       static_cast<double>(m->model->config().n_layer));
    }
  }
  // Without the flag there is no profile.
  const test::CommandResult plain =
      test::run_tenbin("perf -m " + model + " -p 16 -n 8 -r 1 -t 1 --json", /*merge_stderr=*/false);
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  EXPECT_FALSE(nlohmann::json::parse(plain.output)["results"][0].contains("profile"));
}

TEST(PerfCommand, RunsOverQ8AndBf16KvCaches) {
  for (const std::string type : {"q8_0", "bf16"}) {
    const test::CommandResult perf = test::run_tenbin(
        "perf -m " + test::shared_path("models/synthetic/mini-llama-random-f16.gguf") +
            " -p 16 -n 8 -d 32 -r 1 -t 1 --json --kv-type " + type,
        /*merge_stderr=*/false);
    ASSERT_EQ(perf.exit_code, 0) << perf.output;
    const nlohmann::json j = nlohmann::json::parse(perf.output);
    EXPECT_EQ(j["kv_type"], type);
    ASSERT_EQ(j["results"].size(), 2u);
    EXPECT_GT(j["results"][1]["tokens_per_s"].get<double>(), 0);
  }
  // The text report names the cache type in its header.
  const test::CommandResult text = test::run_tenbin(
      "perf -m " + test::shared_path("models/synthetic/mini-llama-random-f16.gguf") +
          " -p 16 -n 0 -r 1 -t 1 --kv-type bf16",
      /*merge_stderr=*/false);
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("  kv bf16  "), std::string::npos) << text.output;
}

TEST(PerfModel, DecodeBytesCountWeightsAndKvCache) {
  auto m = LoadedModel::load(test::shared_path("models/stories260K.gguf"));
  ASSERT_TRUE(m.ok());
  const ModelConfig& c = m->model->config();
  // stories260K: untied output, so the embedding table is not read per token.
  const double weights = m->model->weight_bytes();
  EXPECT_DOUBLE_EQ(decode_bytes_per_token(*m->model, 0),
                   weights + 2.0 * c.n_layer * c.kv_dim() * 2);
  // A Q8_0 cache: 34 bytes per 32 values (stories260K's kv_dim 32 is one group per row).
  EXPECT_DOUBLE_EQ(decode_bytes_per_token(*m->model, 9, DType::kQ8_0),
                   weights + 2.0 * c.n_layer * c.kv_dim() / 32 * 34 * 10);
  EXPECT_GT(flops_per_token(c, 10), flops_per_token(c, 0));
  // The output-only share: LM head plus the last layer's output projection and MLP.
  EXPECT_DOUBLE_EQ(output_only_flops(c), 2.0 * c.n_embd * (c.q_dim() + 3.0 * c.n_ff + c.n_vocab));
}

TEST(PerfModel, DecodeReprobesBandwidthAndKeepsTheLargest) {
  auto m = LoadedModel::load(test::shared_path("models/stories260K.gguf"));
  ASSERT_TRUE(m.ok());
  ThreadPool pool(1);
  PerfOptions options;
  options.prompt_tokens = 0;
  options.generate_tokens = 4;
  options.repetitions = 2;
  // Readings after each measured repetition: the largest one (8 GB/s) replaces the first 5.
  std::vector<double> readings = {8.0, 3.0};
  int calls = 0;
  kernels::MachineLimits limits;
  limits.mem_read_gbs = 5.0;
  auto results = run_perf(*m->model, pool, limits, options, [&] { return readings[calls++]; });
  ASSERT_TRUE(results.ok()) << results.status().message();
  EXPECT_EQ(calls, 2);  // not after the warm-up run
  EXPECT_DOUBLE_EQ(limits.mem_read_gbs, 8.0);
  const PerfResult& tg = (*results)[0];
  EXPECT_DOUBLE_EQ(tg.fraction_of_limit, tg.tokens_per_s * tg.bytes_per_token / 8e9);

  // Without a re-probe the limit stays as measured before the test.
  kernels::MachineLimits fixed;
  fixed.mem_read_gbs = 5.0;
  auto again = run_perf(*m->model, pool, fixed, options);
  ASSERT_TRUE(again.ok());
  EXPECT_DOUBLE_EQ(fixed.mem_read_gbs, 5.0);
}

// A prefill is measured against the peak of the instructions its matmul issues: int8 dots for
// the block formats, bf16 pair dots for BF16 where the CPU has them, f32 FMA otherwise, and a
// GPU's matmul peak whenever one is set.
TEST(PerfModel, PrefillPeakFollowsTheWeightType) {
  kernels::MachineLimits cpu;
  cpu.peak_f32_gflops = 200;
  cpu.peak_int8_gops = 900;
  EXPECT_STREQ(prefill_peak(cpu, DType::kQ4_K).name, "peak_int8_gops");
  EXPECT_DOUBLE_EQ(prefill_peak(cpu, DType::kQ5_0).value, 900);
  EXPECT_STREQ(prefill_peak(cpu, DType::kF16).name, "peak_f32_gflops");
  EXPECT_STREQ(prefill_peak(cpu, DType::kBF16).name, "peak_f32_gflops");  // no bf16 probe
  cpu.peak_bf16_gflops = 400;
  EXPECT_STREQ(prefill_peak(cpu, DType::kBF16).name, "peak_bf16_gflops");
  EXPECT_DOUBLE_EQ(prefill_peak(cpu, DType::kBF16).value, 400);
  EXPECT_DOUBLE_EQ(prefill_peak(cpu, DType::kF16).value, 200);
  kernels::MachineLimits gpu = cpu;
  gpu.peak_matmul_gflops = 5000;
  EXPECT_STREQ(prefill_peak(gpu, DType::kBF16).name, "peak_matmul_gflops");
  EXPECT_DOUBLE_EQ(prefill_peak(gpu, DType::kQ4_0).value, 5000);
}

}  // namespace
}  // namespace tenbin
