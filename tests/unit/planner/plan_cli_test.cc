// `tenbin plan` as users and tools run it: the JSON fields the docs promise, ranking, the
// rejection reasons, the HTML chart, `plan explain`, and calibration from a real `tenbin perf`
// run saved and reused.
#include <cmath>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "unit/test_util.h"

namespace tenbin {
namespace {

nlohmann::json plan_json(const std::string& args) {
  const test::CommandResult r =
      test::run_tenbin("plan " + args + " --json --no-calibration", /*merge_stderr=*/false);
  EXPECT_EQ(r.exit_code, 0) << r.output << r.error;
  return nlohmann::json::parse(r.output, nullptr, false);
}

TEST(PlanCommand, ChatPlanJsonHasTheDocumentedFieldsBestFirst) {
  const nlohmann::json j = plan_json(
      "--model llama-2-7b --workload chat --concurrency 50 --input-len 512 --output-len 200 "
      "--slo ttft_p99=500ms,tpot=50ms --quant f16,q8_0,q4_0,q4_k_m "
      "--gpus t4,a10,l4,rtx4090,a100-80g,h100,h200 --max-gpus 4");
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["model"]["params"], 6738415616);
  EXPECT_EQ(j["model"]["layers"], 32);
  EXPECT_EQ(j["model"]["kv_heads"], 32);
  EXPECT_EQ(j["model"]["head_dim"], 128);
  EXPECT_EQ(j["workload"]["concurrency"], 50);
  ASSERT_GT(j["configs"].size(), 5u);
  bool seen_rejected = false;
  double last_cost = 0;
  for (const auto& c : j["configs"]) {
    for (const char* key :
         {"gpu", "count", "tensor_parallel", "quant", "weights_gib", "kv_cache_gib", "fits",
          "ttft_ms", "tpot_ms", "max_concurrency", "power_w", "price_per_hour_usd",
          "cost_per_1k_requests_usd", "rejected_because"}) {
      EXPECT_TRUE(c.contains(key)) << key;
    }
    const bool accepted = c["rejected_because"].get<std::string>().empty();
    if (!accepted) {
      seen_rejected = true;
      continue;
    }
    EXPECT_FALSE(seen_rejected) << "accepted configurations come first";
    EXPECT_TRUE(c["fits"].get<bool>());
    EXPECT_LE(c["ttft_ms"].get<double>(), 500);
    EXPECT_LE(c["tpot_ms"].get<double>(), 50);
    EXPECT_GE(c["max_concurrency"].get<int64_t>(), 50 / c["count"].get<int64_t>());
    // "GPU memory at least 1.5x the parameter bytes" holds for whatever serves 50 users.
    EXPECT_GE(c["memory_per_gpu_gib"].get<double>() * c["tensor_parallel"].get<int>(),
              1.5 * c["weights_total_gib"].get<double>())
        << c["gpu"] << " " << c["quant"];
    // Host: 8 vCPUs per GPU at least, system RAM 2-3x the GPU memory.
    const double gpu_mem = c["memory_per_gpu_gib"].get<double>() * c["count"].get<int>();
    EXPECT_GE(c["host"]["vcpus"].get<int>(), 8 * c["count"].get<int>());
    EXPECT_GE(c["host"]["ram_gib"].get<double>(), 2 * gpu_mem);
    EXPECT_LE(c["host"]["ram_gib"].get<double>(), 3 * gpu_mem);
    // Ranked by cost per 1K requests; devices without any price in the catalog come last.
    if (c["cost_per_1k_requests_usd"].is_null()) {
      last_cost = INFINITY;
      continue;
    }
    const double cost = c["cost_per_1k_requests_usd"].get<double>();
    EXPECT_GE(cost, last_cost) << c["gpu"];
    last_cost = cost;
  }
  EXPECT_TRUE(seen_rejected);
  EXPECT_GT(last_cost, 0);
}

TEST(PlanCommand, RejectionsNameTheConstraint) {
  const nlohmann::json j = plan_json(
      "--model bert-base --workload embed --batch 1 --slo p99=100ms --max-power-w 800 "
      "--max-budget-usd 6000 --gpus t4,l4,rtx4090,h100,b200");
  ASSERT_FALSE(j.is_discarded());
  std::map<std::string, std::string> reason;
  for (const auto& c : j["configs"]) reason[c["gpu"].get<std::string>()] = c["rejected_because"];
  EXPECT_EQ(reason["t4"], "");
  EXPECT_EQ(reason["rtx4090"], "");
  EXPECT_NE(reason["h100"].find("budget $30000 > $6000"), std::string::npos) << reason["h100"];
  EXPECT_NE(reason["b200"].find("power 1000 W > 800 W"), std::string::npos) << reason["b200"];
  EXPECT_EQ(j["configs"][0]["gpu"], "t4");  // cheapest
}

TEST(PlanCommand, MemoryRejectionForSeventyBOnOneGpu) {
  const nlohmann::json j = plan_json(
      "--model llama-2-70b --concurrency 4 --slo ttft_p99=5s --quant f16 --gpus l40s --max-gpus 1");
  ASSERT_FALSE(j.is_discarded());
  ASSERT_EQ(j["configs"].size(), 1u);
  EXPECT_FALSE(j["configs"][0]["fits"].get<bool>());
  EXPECT_EQ(j["configs"][0]["rejected_because"].get<std::string>().rfind("memory: weights", 0), 0u)
      << j["configs"][0]["rejected_because"];
}

TEST(PlanCommand, GgufFileTableHtmlAndExplain) {
  test::TempDir dir;
  const std::string model = test::shared_path("models/synthetic/mini-llama-random-q4_k_m.gguf");
  const std::string html = dir.file("plan.html");
  const test::CommandResult r = test::run_tenbin(
      "plan --model " + test::shell_quote(model) +
      " --concurrency 8 --input-len 128 --output-len 32 --slo ttft_p99=1s --no-calibration "
      "--html " +
      test::shell_quote(html));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("q4_k_m (file)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("host for #1"), std::string::npos) << r.output;
  std::ifstream in(html);
  const std::string page((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(page.find("<svg"), std::string::npos);
  EXPECT_NE(page.find("<polyline"), std::string::npos);  // the frontier
  EXPECT_EQ(page.find("<script"), std::string::npos);    // self-contained, no network
  EXPECT_EQ(page.find("src="), std::string::npos);
  EXPECT_EQ(page.find("<link"), std::string::npos);

  const test::CommandResult e = test::run_tenbin(
      "plan explain --model llama-3-8b --gpu l4 --quant q8_0 --concurrency 8 --no-calibration");
  ASSERT_EQ(e.exit_code, 0) << e.output;
  for (const char* part : {"ridge point", "KV cache per token: 2 x 32 layers x 8 KV heads x 128",
                           "memory-bound", "prefill of 512 tokens", "TPOT = step"}) {
    EXPECT_NE(e.output.find(part), std::string::npos) << part << "\n" << e.output;
  }
}

TEST(PlanCommand, CalibrateFromTenbinPerfThenReuse) {
  test::TempDir dir;
  const std::string model = test::shared_path("models/synthetic/mini-llama-random-q8_0.gguf");
  const test::CommandResult perf = test::run_tenbin(
      "perf -m " + test::shell_quote(model) + " -p 32 -n 16 -r 1 -t 1 --json", false);
  ASSERT_EQ(perf.exit_code, 0) << perf.error;
  std::ofstream(dir.file("perf.json")) << perf.output;
  const std::string cal = dir.file("cal.json");
  const test::CommandResult fit = test::run_tenbin("plan --calibrate " + dir.file("perf.json") +
                                                   " --device cpu-2vcpu --save " + cal);
  ASSERT_EQ(fit.exit_code, 0) << fit.output;
  EXPECT_NE(fit.output.find("fit: rms error"), std::string::npos) << fit.output;
  std::ifstream in(cal);
  const nlohmann::json saved = nlohmann::json::parse(in, nullptr, false);
  ASSERT_FALSE(saved.is_discarded());
  EXPECT_EQ(saved["device"], "cpu-2vcpu");
  EXPECT_EQ(saved["fit"]["points"].size(), 2u);
  // This 2 MB model lives in the CPU caches, where decode outruns prefill per token; the fit
  // cannot (and should not) reproduce that exactly, but it must say how far off it is.
  EXPECT_GE(saved["fit"]["max_error"].get<double>(), 0.0);
  EXPECT_NE(fit.output.find("measured"), std::string::npos);
  EXPECT_GT(saved["limits"]["bandwidth_gbs"].get<double>(), 0);  // the run's own limits

  const test::CommandResult again =
      test::run_tenbin("plan --model " + test::shell_quote(model) +
                           " --gpus cpu-2vcpu --concurrency 1 "
                           "--input-len 32 --output-len 16 --calibration " +
                           cal + " --json",
                       false);
  ASSERT_EQ(again.exit_code, 0) << again.error;
  const nlohmann::json j = nlohmann::json::parse(again.output);
  EXPECT_NE(j["calibration"].get<std::string>().find(cal), std::string::npos);
  // The plan's decode speed is the calibration's own prediction for that run.
  const double tg = 1000.0 / j["configs"][0]["tpot_ms"].get<double>();
  const double predicted = saved["fit"]["points"][1]["predicted"].get<double>();
  EXPECT_NEAR(tg / predicted, 1.0, 0.1);
}

TEST(PlanCommand, ExplainShowsPerTypeFactors) {
  test::TempDir dir;
  const std::string cal = dir.file("cal.json");
  std::ofstream(cal) << R"({"device": "cpu-2vcpu",
    "limits": {"bandwidth_gbs": 30, "fp32_tflops": 0.1, "int8_tops": 0.5},
    "efficiency": {"bandwidth": 0.8, "compute": 0.8, "compute_int8": 0.5, "step_overhead_ms": 0,
                   "per_type": {"q8_0": {"bandwidth": 1.1, "compute": 1.2},
                                "q4_k": {"bandwidth": 0.75, "compute": 0.9}}}})";
  const std::string args =
      "--model qwen2-0.5b --gpu cpu-2vcpu --concurrency 1 --calibration " + cal;
  const test::CommandResult q8 = test::run_tenbin("plan explain --quant q8_0 " + args);
  ASSERT_EQ(q8.exit_code, 0) << q8.output;
  for (const char* part : {"bandwidth 30 GB/s x efficiency 0.88 (shared 0.80 x 1.10 for q8_0) = 26",
                           "x efficiency 0.60 (shared 0.50 x 1.20 for q8_0)",
                           "q4_k 0.75/0.90, q8_0 1.10/1.20; other types use the shared factors",
                           "logits and last-layer MLP for the last token only"}) {
    EXPECT_NE(q8.output.find(part), std::string::npos) << part << "\n" << q8.output;
  }
  // A type the calibration did not measure: the shared factors.
  const test::CommandResult q5 = test::run_tenbin("plan explain --quant q5_0 " + args);
  ASSERT_EQ(q5.exit_code, 0) << q5.output;
  EXPECT_NE(q5.output.find("bandwidth 30 GB/s x efficiency 0.80 = 24 GB/s"), std::string::npos)
      << q5.output;
}

TEST(PlanCommand, ClearErrors) {
  auto run = [](const std::string& args) { return test::run_tenbin("plan " + args); };
  const test::CommandResult unknown = run("--model llama-9b");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.output.find("neither a file nor a preset"), std::string::npos);
  const test::CommandResult slo = run("--model llama-2-7b --slo ttft=fast");
  EXPECT_EQ(slo.exit_code, 1);
  EXPECT_NE(slo.output.find("not a positive duration"), std::string::npos) << slo.output;
  const test::CommandResult gpu = run("--model llama-2-7b --gpus x100");
  EXPECT_EQ(gpu.exit_code, 1);
  EXPECT_NE(gpu.output.find("no device 'x100'"), std::string::npos) << gpu.output;
  const test::CommandResult both = run("--model llama-2-7b --max-budget-usd 1 --max-price-hour 1");
  EXPECT_EQ(both.exit_code, 1);
  const test::CommandResult kind = run("--model bert-base --workload chat");
  EXPECT_EQ(kind.exit_code, 1);
  EXPECT_NE(kind.output.find("does not suit an encoder"), std::string::npos) << kind.output;
}

}  // namespace
}  // namespace tenbin
