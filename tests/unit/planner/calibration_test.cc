// Calibration fits efficiency factors to measurements. Measurements are generated here from
// known factors through the model (so the truth is known), in the exact JSON shapes `tenbin
// perf --json` and `tenbin bench --json` (vLLM field names) print; the fit must recover the
// factors and reproduce every point.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "planner/calibration.h"
#include "planner/memory_model.h"
#include "planner/model_presets.h"
#include "planner/perf_model.h"
#include "planner/serving_model.h"
#include "unit/test_util.h"

namespace tenbin::planner {
namespace {

Catalog catalog() {
  return *load_catalog({});
}

// A `tenbin perf --json` document for `quant` of `m` on a CPU with these limits, speeds
// computed from the true factors.
nlohmann::json perf_json(const ModelSpec& m, const std::string& type, const std::string& quant,
                         const Device& cpu, const Efficiency& truth) {
  const DeviceGroup g{&cpu, 1, truth};
  nlohmann::json j;
  j["type"] = type;
  j["threads"] = 2;
  j["limits"] = {{"mem_read_gbs", cpu.bandwidth_gbs},
                 {"peak_f32_gflops", cpu.fp32_tflops * 1000},
                 {"peak_int8_gops", cpu.int8_tops * 1000}};
  const double weights = static_cast<double>(step_weight_bytes(m, quant));
  const double pp_flops = flops_per_token(m, 32);
  const StepCost pp = roofline(g, quant, weights, 64 * pp_flops, 0, 0, 0);
  const double tg_bytes = weights + kv_bytes_per_token(m) * 17;
  const double tg_flops = flops_per_token(m, 16);
  const StepCost tg = roofline(g, quant, tg_bytes, tg_flops, 0, 0, 0);
  j["results"] = {{{"test", "pp64"},
                   {"tokens_per_s", 64 / pp.seconds},
                   {"bytes_per_token", weights / 64},
                   {"flops_per_token", pp_flops}},
                  {{"test", "tg32"},
                   {"tokens_per_s", 1 / tg.seconds},
                   {"bytes_per_token", tg_bytes},
                   {"flops_per_token", tg_flops}}};
  return j;
}

TEST(PlannerCalibration, RecoversCpuFactorsFromPerfRuns) {
  Catalog cat = catalog();
  Device cpu = *cat.find("cpu-2vcpu");
  cpu.bandwidth_gbs = 60;  // what this "machine" measured, unlike the catalog's 66
  cpu.fp32_tflops = 0.1;
  cpu.int8_tops = 0.45;
  const Efficiency truth{
      .bandwidth = 0.4, .compute = 0.6, .compute_int8 = 0.12, .step_overhead_ms = 0.5};
  const ModelSpec m = *find_model_preset("tinyllama-1.1b");
  std::vector<CalibrationInput> inputs = {{"q4_0.json", perf_json(m, "q4_0", "q4_0", cpu, truth)},
                                          {"f16.json", perf_json(m, "f16", "f16", cpu, truth)}};
  auto cal = calibrate(inputs, cat, "cpu-2vcpu", std::nullopt);
  ASSERT_TRUE(cal.ok()) << cal.status().message();
  EXPECT_DOUBLE_EQ(*cal->bandwidth_gbs, 60);  // the measured limits replace the catalog's
  EXPECT_DOUBLE_EQ(*cal->int8_tops, 0.45);
  EXPECT_NEAR(cal->efficiency.bandwidth, 0.4, 0.01);
  EXPECT_NEAR(cal->efficiency.compute, 0.6, 0.01);
  ASSERT_TRUE(cal->efficiency.compute_int8.has_value());
  EXPECT_NEAR(*cal->efficiency.compute_int8, 0.12, 0.003);
  EXPECT_NEAR(cal->efficiency.step_overhead_ms, 0.5, 0.1);
  ASSERT_EQ(cal->points.size(), 4u);
  EXPECT_LT(cal->max_error, 0.01);

  // Saved, loaded and applied, the factors predict the runs they came from.
  test::TempDir dir;
  ASSERT_TRUE(save_calibration(*cal, dir.file("sub/cal.json")).ok());
  auto loaded = load_calibration(dir.file("sub/cal.json"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_DOUBLE_EQ(loaded->efficiency.bandwidth, cal->efficiency.bandwidth);
  ASSERT_TRUE(apply_calibration(cat, *loaded).ok());
  EXPECT_DOUBLE_EQ(cat.find("cpu-2vcpu")->bandwidth_gbs, 60);
  EXPECT_DOUBLE_EQ(cat.find("cpu-2vcpu")->efficiency->bandwidth, cal->efficiency.bandwidth);
}

// The factors a real one-thread calibration of this machine needed (docs/planner.md), fitted
// from the catalog's very different prior: a single simplex search from the prior stalled with
// the bandwidth factor pinned at 1.0 and a 9.5% error on F16 decode.
TEST(PlannerCalibration, FindsTheExactFitFarFromThePrior) {
  Catalog cat = catalog();
  Device cpu = *cat.find("cpu-2vcpu");
  cpu.bandwidth_gbs = 31.7;
  cpu.fp32_tflops = 0.118;
  cpu.int8_tops = 0.471;
  const Efficiency truth{
      .bandwidth = 0.865, .compute = 0.89, .compute_int8 = 0.653, .step_overhead_ms = 1.1};
  const ModelSpec m = *find_model_preset("tinyllama-1.1b");
  std::vector<CalibrationInput> inputs = {{"q4_0.json", perf_json(m, "q4_0", "q4_0", cpu, truth)},
                                          {"f16.json", perf_json(m, "f16", "f16", cpu, truth)}};
  auto cal = calibrate(inputs, cat, "cpu-2vcpu", std::nullopt);
  ASSERT_TRUE(cal.ok()) << cal.status().message();
  EXPECT_LT(cal->max_error, 0.01);
  EXPECT_NEAR(cal->efficiency.bandwidth, 0.865, 0.02);
  EXPECT_NEAR(cal->efficiency.step_overhead_ms, 1.1, 0.3);
}

TEST(PlannerCalibration, FitsGpuFactorsToBenchRuns) {
  const Catalog cat = catalog();
  const Device& h100 = *cat.find("h100");
  const Efficiency truth{.bandwidth = 0.6, .compute = 0.35, .step_overhead_ms = 5};
  const ModelSpec m = *find_model_preset("llama-2-7b");
  nlohmann::json runs = nlohmann::json::array();
  for (int64_t c : {1, 8, 32}) {
    const Workload w{.concurrency = c, .input_len = 512, .output_len = 200};
    const MemoryEstimate mem = estimate_memory(m, "f16", h100, 0.9, w, 1, c);
    const LoadPrediction p = predict_load(m, "f16", {&h100, 1, truth}, w, c, mem.max_batch);
    runs.push_back({{"completed", 100},
                    {"duration", 100 / p.requests_per_s},
                    {"total_input_tokens", 100 * 512},
                    {"total_output_tokens", 100 * 200},
                    {"max_concurrency", c},
                    {"mean_ttft_ms", p.ttft_mean_ms},
                    {"mean_tpot_ms", p.tpot_ms},
                    {"model_id", "llama-2-7b"}});
  }
  ModelSpec f16 = m;  // the served file: f16 weights
  f16.file_quant = "f16";
  auto cal = calibrate({{"bench.json", {{"runs", runs}}}}, cat, "h100", f16);
  ASSERT_TRUE(cal.ok()) << cal.status().message();
  EXPECT_EQ(cal->points.size(), 6u);
  EXPECT_LT(cal->max_error, 0.02);
  EXPECT_NEAR(cal->efficiency.bandwidth, 0.6, 0.03);
  EXPECT_NEAR(cal->efficiency.compute, 0.35, 0.03);
  EXPECT_FALSE(cal->bandwidth_gbs.has_value());  // bench runs carry no machine limits

  auto without_model = calibrate({{"bench.json", {{"runs", runs}}}}, cat, "h100", std::nullopt);
  ASSERT_FALSE(without_model.ok());
  EXPECT_NE(without_model.status().message().find("needs --model"), std::string::npos);
}

TEST(PlannerCalibration, DefaultPathFollowsXdg) {
  EXPECT_EQ(default_calibration_path("/x", "/home/u"), "/x/tenbin/calibration.json");
  EXPECT_EQ(default_calibration_path(nullptr, "/home/u"),
            "/home/u/.config/tenbin/calibration.json");
  EXPECT_EQ(default_calibration_path("", ""), "");
}

}  // namespace
}  // namespace tenbin::planner
