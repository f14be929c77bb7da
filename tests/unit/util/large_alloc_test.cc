// allocate_large: zero-filled, aligned memory that can be written end to end and released.
#include "util/large_alloc.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

namespace tenbin {
namespace {

bool all_zero(const uint8_t* p, size_t n) {
  return std::all_of(p, p + n, [](uint8_t b) { return b == 0; });
}

TEST(LargeAlloc, ZeroBytesGivesNothing) {
  EXPECT_EQ(allocate_large(0), nullptr);
  free_large(nullptr, 0);  // harmless, like free(nullptr)
}

TEST(LargeAlloc, SmallArraysArePageAlignedZeroedAndWritable) {
  for (size_t bytes : {size_t{1}, size_t{100}, size_t{4096}, size_t{4097}, size_t{300000}}) {
    auto* p = static_cast<uint8_t*>(allocate_large(bytes));
    ASSERT_NE(p, nullptr) << bytes;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 4096, 0u) << bytes;
    EXPECT_TRUE(all_zero(p, bytes)) << bytes;
    std::memset(p, 0xA5, bytes);
    EXPECT_EQ(p[bytes - 1], 0xA5);
    free_large(p, bytes);
  }
}

TEST(LargeAlloc, ArraysOfHugePagesStartOnAHugePageBoundary) {
  constexpr size_t kHuge = size_t{2} << 20;
  for (size_t bytes : {kHuge, 5 * kHuge + 123, 3 * kHuge - 1}) {
    auto* p = static_cast<uint8_t*>(allocate_large(bytes));
    ASSERT_NE(p, nullptr) << bytes;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % kHuge, 0u) << bytes;
    EXPECT_TRUE(all_zero(p, bytes)) << bytes;
    std::memset(p, 0x5A, bytes);
    EXPECT_EQ(p[0], 0x5A);
    EXPECT_EQ(p[bytes - 1], 0x5A);
    free_large(p, bytes);
  }
}

// The process's mapped address space (VmSize), in KiB.
long mapped_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmSize:", 0) == 0) return std::stol(line.substr(7));
  }
  return -1;
}

TEST(LargeAlloc, ReleaseUnmapsEverythingTheAllocationMapped) {
  // A release that left the mapping, or the 2 MiB of slack trimmed around it, behind would
  // grow the address space by at least 2 MiB a round: 64 rounds, at least 128 MiB.
  constexpr size_t kBytes = (size_t{48} << 20) + 4096 * 3 + 17;
  const long before = mapped_kib();
  ASSERT_GT(before, 0);
  for (int round = 0; round < 64; ++round) {
    auto* p = static_cast<uint8_t*>(allocate_large(kBytes));
    ASSERT_NE(p, nullptr) << round;
    ASSERT_EQ(p[kBytes / 2], 0) << round;
    p[kBytes / 2] = 1;
    free_large(p, kBytes);
  }
  EXPECT_LT(mapped_kib() - before, 16 * 1024);
}

}  // namespace
}  // namespace tenbin
