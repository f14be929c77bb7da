// SLO strings as users type them, and workload checks against the model kind.
#include <gtest/gtest.h>

#include "planner/host_sizing.h"
#include "planner/workload.h"

namespace tenbin::planner {
namespace {

TEST(PlannerWorkload, ParsesSloUnitsAndNames) {
  auto slo = parse_slo("ttft_p99=0.5s,tpot=50ms");
  ASSERT_TRUE(slo.ok()) << slo.status().message();
  EXPECT_DOUBLE_EQ(*slo->ttft_p99_ms, 500);
  EXPECT_DOUBLE_EQ(*slo->tpot_ms, 50);
  EXPECT_FALSE(slo->p99_ms.has_value());
  auto embed = parse_slo("p99=100");  // bare numbers are milliseconds
  ASSERT_TRUE(embed.ok());
  EXPECT_DOUBLE_EQ(*embed->p99_ms, 100);
  EXPECT_TRUE(parse_slo("")->empty());
  EXPECT_EQ(describe_slo(*slo), "TTFT p99 <= 500 ms, TPOT <= 50 ms");

  EXPECT_NE(parse_slo("ttft=5min").status().message().find("unknown unit 'min'"),
            std::string::npos);
  EXPECT_NE(parse_slo("speed=5ms").status().message().find("unknown objective 'speed'"),
            std::string::npos);
  EXPECT_NE(parse_slo("tpot").status().message().find("not key=value"), std::string::npos);
  EXPECT_FALSE(parse_slo("tpot=-1ms").ok());
}

TEST(PlannerWorkload, KindMustSuitTheModel) {
  EXPECT_TRUE(validate_workload({.kind = "chat"}, "decoder").ok());
  EXPECT_FALSE(validate_workload({.kind = "embed"}, "decoder").ok());
  EXPECT_TRUE(validate_workload({.kind = "embed"}, "encoder").ok());
  EXPECT_TRUE(validate_workload({.kind = "detect"}, "vision").ok());
  EXPECT_FALSE(validate_workload({.kind = "chat", .concurrency = 0}, "decoder").ok());
}

TEST(PlannerWorkload, HostSizingFollowsTheRulesOfThumb) {
  const HostSizing one = size_host(1, 24, 13.0, false);
  EXPECT_EQ(one.vcpus, 8);
  EXPECT_EQ(one.ram_gib, 48);  // 2x 24 GiB
  EXPECT_EQ(one.reasons.size(), 3u);
  const HostSizing eight = size_host(8, 80, 130.0, false);
  EXPECT_EQ(eight.vcpus, 64);
  EXPECT_GE(eight.ram_gib, 2 * 640);
  EXPECT_LE(eight.ram_gib, 3 * 640);
  EXPECT_GE(eight.disk_gib, 2 * 130 + 100);
}

}  // namespace
}  // namespace tenbin::planner
