#include "util/large_alloc.h"

#include <sys/mman.h>

#include <cstdint>

namespace tenbin {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kHugePage = size_t{2} << 20;

size_t round_up(size_t n, size_t to) {
  return (n + to - 1) / to * to;
}

}  // namespace

void* allocate_large(size_t bytes) {
  if (bytes == 0) return nullptr;
  const size_t size = round_up(bytes, kPage);
  // Arrays of 2 MiB or more get a 2 MiB-aligned start, so every whole 2 MiB of them can be one
  // huge page: map that much more, then unmap the unaligned head and the tail.
  const size_t slack = size >= kHugePage ? kHugePage : 0;
  void* mapped =
      mmap(nullptr, size + slack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) return nullptr;
  auto* start = static_cast<uint8_t*>(mapped);
  if (slack > 0) {
    const auto address = reinterpret_cast<uintptr_t>(start);
    auto* aligned = reinterpret_cast<uint8_t*>(round_up(address, kHugePage));
    const size_t head = static_cast<size_t>(aligned - start);
    if (head > 0) munmap(start, head);
    const size_t tail = slack - head;
    if (tail > 0) munmap(aligned + size, tail);
    start = aligned;
  }
  (void)madvise(start, size, MADV_HUGEPAGE);  // a hint: refused where THP is off
  return start;
}

void free_large(void* p, size_t bytes) {
  if (p != nullptr) munmap(p, round_up(bytes, kPage));
}

}  // namespace tenbin
