// Memory for large arrays that kernels read as streams (repacked weights, the KV cache):
// anonymous pages, aligned to 2 MiB when the array spans one, and offered to the kernel as
// transparent huge pages (MADV_HUGEPAGE). With 4 KiB pages a streaming read takes a TLB miss
// every 4 KiB and the hardware prefetchers stop at every page end; on 2 MiB pages the one-token
// Q4_0 matmul reads ~10% faster from memory on one core. Where huge pages are refused
// (THP off) the memory is ordinary pages and works the same.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tenbin {

// Zero-filled memory of at least `bytes` (64-byte aligned at least), or nullptr when none can
// be had. Release it with free_large(p, bytes) and the same `bytes`.
void* allocate_large(size_t bytes);
void free_large(void* p, size_t bytes);

// A unique_ptr deleter for memory from allocate_large of `size` bytes.
struct FreeLarge {
  size_t size = 0;
  void operator()(uint8_t* p) const { free_large(p, size); }
};

}  // namespace tenbin
