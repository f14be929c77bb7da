// `tenbin perf --json` as tooling reads it: the documented fields are present and consistent
// (speeds positive, fractions computed from the stated limits). No speed is asserted here:
// speed goals live in the benchmark figures, not in tests.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/perf_runner.h"
#include "kernels/probe/machine_limits.h"
#include "model/loaded_model.h"
#include "test_data.h"

namespace tenbin {
namespace {

std::string capture(const std::string& cmd, int* exit_code) {
  std::string out;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  int status = pclose(pipe);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

TEST(PerfCommand, JsonHasTheDocumentedFields) {
  int code = -1;
  std::string out = capture(test::tenbin_binary() + " perf -m " +
                                test::shared_path("models/stories260K.gguf") +
                                " -p 32 -n 16 -r 1 -t 1 --json",
                            &code);
  ASSERT_EQ(code, 0) << out;
  nlohmann::json j = nlohmann::json::parse(out);
  EXPECT_EQ(j["type"], "f32");
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
}

TEST(PerfCommand, BadThreadListIsAClearError) {
  int code = -1;
  std::string out = capture(test::tenbin_binary() + " perf -m " +
                                test::shared_path("models/stories260K.gguf") + " -t two 2>&1",
                            &code);
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("'two' is not a thread count"), std::string::npos) << out;
}

TEST(PerfModel, DecodeBytesCountWeightsAndKvCache) {
  auto m = LoadedModel::load(test::shared_path("models/stories260K.gguf"));
  ASSERT_TRUE(m.ok());
  const ModelConfig& c = m->model->config();
  // stories260K: untied output, so the embedding table is not read per token.
  const double weights = m->model->weight_bytes();
  EXPECT_DOUBLE_EQ(decode_bytes_per_token(*m->model, 0), weights + 2.0 * c.n_layer * c.kv_dim() * 2);
  EXPECT_GT(flops_per_token(c, 10), flops_per_token(c, 0));
}

}  // namespace
}  // namespace tenbin
