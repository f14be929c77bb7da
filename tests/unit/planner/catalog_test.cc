// The hardware catalog: the compiled-in data/gpus.yaml parses, covers the GPUs the planner
// promises, names a source for every entry, and user catalogs add and override entries.
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "planner/catalog.h"
#include "unit/test_util.h"

namespace tenbin::planner {
namespace {

TEST(PlannerCatalog, BuiltInCatalogHasTheRequiredDevicesWithSources) {
  auto catalog = load_catalog({});
  ASSERT_TRUE(catalog.ok()) << catalog.status().message();
  for (const char* id : {"t4", "a10", "a10g", "l4", "l40s", "rtx4000-ada", "rtx4090", "a100-40g",
                         "a100-80g", "h100-pcie", "h100", "h200", "cpu-2vcpu"}) {
    const Device* d = catalog->find(id);
    ASSERT_NE(d, nullptr) << id;
    EXPECT_GT(d->memory_gib, 0) << id;
    EXPECT_GT(d->bandwidth_gbs, 0) << id;
    EXPECT_FALSE(d->sources.empty()) << id;
    EXPECT_FALSE(d->sources.begin()->second.empty()) << id;
  }
  // Spot checks against the spec sheets.
  EXPECT_EQ(catalog->find("h100")->bandwidth_gbs, 3350);
  EXPECT_EQ(catalog->find("h100")->fp16_tflops, 989);
  EXPECT_EQ(catalog->find("h200")->memory_gib, 141);
  EXPECT_EQ(catalog->find("l4")->tdp_w, 72);
  EXPECT_EQ(catalog->find("h100-sxm"), catalog->find("h100"));      // alias
  EXPECT_FALSE(catalog->find("a100-80g")->fp8_tflops.has_value());  // Ampere: no FP8
  const Device* cpu = catalog->find("cpu-2vcpu");
  EXPECT_TRUE(cpu->is_cpu());
  EXPECT_TRUE(cpu->measured);
  EXPECT_DOUBLE_EQ(catalog->memory_utilization, 0.9);
}

TEST(PlannerCatalog, UserCatalogAddsAndOverrides) {
  test::TempDir dir;
  const std::string path = dir.file("mine.yaml");
  std::ofstream(path) << "devices:\n"
                         "  - id: h100\n"
                         "    name: H100 at our price\n"
                         "    memory_gib: 80\n"
                         "    bandwidth_gbs: 3350\n"
                         "    fp16_tflops: 989\n"
                         "    price: {hour_usd: 1.5}\n"
                         "  - id: mi300x\n"
                         "    memory_gib: 192\n"
                         "    bandwidth_gbs: 5300\n"
                         "    fp16_tflops: 1300\n"
                         "    efficiency: {bandwidth: 0.5}\n";
  auto catalog = load_catalog({path});
  ASSERT_TRUE(catalog.ok()) << catalog.status().message();
  EXPECT_EQ(catalog->find("h100")->name, "H100 at our price");
  EXPECT_DOUBLE_EQ(*catalog->find("h100")->price_hour_usd, 1.5);
  ASSERT_NE(catalog->find("mi300x"), nullptr);
  EXPECT_DOUBLE_EQ(catalog->find("mi300x")->efficiency->bandwidth, 0.5);
  EXPECT_DOUBLE_EQ(catalog->find("mi300x")->efficiency->compute, 0.5);  // default kept
  EXPECT_NE(catalog->find("t4"), nullptr);                              // built-ins stay
}

TEST(PlannerCatalog, EfficiencyPerWeightType) {
  auto c = parse_catalog(
      "devices:\n"
      "  - id: box\n"
      "    kind: cpu\n"
      "    memory_gib: 16\n"
      "    bandwidth_gbs: 30\n"
      "    int8_tops: 0.5\n"
      "    efficiency: {bandwidth: 0.8, compute_int8: 0.5,\n"
      "                 per_type: {Q4_K: {bandwidth: 0.75, compute: 0.9}, q8_0: {bandwidth: "
      "1.1}}}\n",
      "box.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  const Efficiency& e = *c->find("box")->efficiency;
  ASSERT_EQ(e.per_type.size(), 2u);
  EXPECT_DOUBLE_EQ(e.per_type.at("q4_k").bandwidth, 0.75);  // type names in any case
  EXPECT_DOUBLE_EQ(e.per_type.at("q4_k").compute, 0.9);
  EXPECT_DOUBLE_EQ(e.per_type.at("q8_0").compute, 1.0);  // a multiplier not given is 1
}

TEST(PlannerCatalog, BadEntriesAreClearErrors) {
  auto no_memory = parse_catalog("devices:\n  - id: x\n    bandwidth_gbs: 1\n", "x.yaml");
  ASSERT_FALSE(no_memory.ok());
  EXPECT_NE(no_memory.status().message().find("x.yaml: device 'x' needs memory_gib"),
            std::string::npos)
      << no_memory.status().message();
  auto not_yaml = parse_catalog("devices: [", "y.yaml");
  ASSERT_FALSE(not_yaml.ok());
  EXPECT_EQ(not_yaml.status().message().rfind("y.yaml: ", 0), 0u);
  auto missing = load_catalog({"/nonexistent/catalog.yaml"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("cannot read"), std::string::npos);
}

}  // namespace
}  // namespace tenbin::planner
