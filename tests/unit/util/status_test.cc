#include "util/status.h"

#include <gtest/gtest.h>

namespace tenbin {
namespace {

Expected<int> parse_positive(int v) {
  if (v <= 0) return Status::Errorf("value {} is not positive", v);
  return v;
}

Status chain(int v) {
  TENBIN_RETURN_IF_ERROR(parse_positive(v).status());
  return Status::Ok();
}

TEST(Status, CarriesMessage) {
  Expected<int> bad = parse_positive(-3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "value -3 is not positive");
  Expected<int> good = parse_positive(4);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 4);
  EXPECT_TRUE(chain(1).ok());
  EXPECT_FALSE(chain(0).ok());
}

}  // namespace
}  // namespace tenbin
