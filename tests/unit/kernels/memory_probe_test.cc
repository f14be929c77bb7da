// The memory read probe (kernels/probe/machine_limits.h): every instruction set's read sums the
// whole buffer, a kept buffer measures again and again without being rebuilt, every reading is a
// plausible bandwidth, and a buffer too small to split between the threads reads as 0 rather
// than dividing by nothing.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "kernels/kernel_table.h"
#include "kernels/probe/machine_limits.h"
#include "util/large_alloc.h"
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

TEST(MemoryReadProbe, EveryReadKernelSumsTheWholeBufferWithAndWithoutPrefetch) {
  // The checksum is the wrapping sum of the buffer's 64-bit words in every instruction set, so
  // a read that skipped or repeated part of the buffer (or whose prefetching loop strayed)
  // would disagree with the plain sum.
  constexpr size_t kBytes = size_t{1} << 20;
  auto* words = static_cast<uint64_t*>(allocate_large(kBytes));  // aligned, as the probe's
  ASSERT_NE(words, nullptr);
  uint64_t expected = 0;
  for (size_t i = 0; i < kBytes / 8; ++i) {
    words[i] = i * 0x9E3779B97F4A7C15ull;
    expected += words[i];
  }
  std::vector<kernels::ProbeKernels> sets = {kernels::probe_kernels_scalar()};
  if (kernels::best_isa() >= kernels::Isa::kAvx2) sets.push_back(kernels::probe_kernels_avx2());
  if (kernels::best_isa() >= kernels::Isa::kAvx512) {
    sets.push_back(kernels::probe_kernels_avx512());
  }
  for (size_t k = 0; k < sets.size(); ++k) {
    for (size_t distance : {size_t{0}, size_t{8192}}) {
      EXPECT_EQ(sets[k].read_bytes(words, kBytes, distance), expected)
          << "set " << k << " distance " << distance;
    }
  }
  free_large(words, kBytes);
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
