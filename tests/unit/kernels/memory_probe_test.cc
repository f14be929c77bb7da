// The memory read probe (kernels/probe/machine_limits.h): a kept buffer measures again and
// again without being rebuilt, every reading is a plausible bandwidth, and a buffer too small to
// split between the threads reads as 0 rather than dividing by nothing.
#include <gtest/gtest.h>

#include "kernels/probe/machine_limits.h"
#include "util/thread_pool.h"

namespace tenbin {
namespace {

TEST(MemoryReadProbe, MeasuresRepeatedlyWithOneBuffer) {
  ThreadPool pool(2);
  kernels::MemoryReadProbe probe(pool, size_t{64} << 20);
  for (int round = 0; round < 3; ++round) {
    const double gbs = probe.measure(2);
    // Between a slow disk and far beyond any DRAM: a probe that reads nothing, or divides by a
    // zero time, lands outside.
    EXPECT_GT(gbs, 0.1) << "round " << round;
    EXPECT_LT(gbs, 100000.0) << "round " << round;
  }
}

TEST(MemoryReadProbe, TooSmallABufferReadsAsZero) {
  ThreadPool pool(2);
  kernels::MemoryReadProbe probe(pool, 4096);  // under one page per thread
  EXPECT_EQ(probe.measure(2), 0.0);
}

TEST(MemoryReadProbe, OneShotFunctionAgreesInKind) {
  ThreadPool pool(1);
  EXPECT_GT(kernels::measure_mem_read_gbs(pool, {.buffer_bytes = size_t{16} << 20, .passes = 2}),
            0.1);
}

}  // namespace
}  // namespace tenbin
