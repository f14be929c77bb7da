// Per-thread, grow-only scratch memory for the kernels' temporaries (quantized activations
// and their per-block sums). Reused from call to call, so a matmul neither zero-fills a fresh
// vector nor faults in new pages on every call (a prefill calls ~150 matmuls of megabytes of
// activations each). Each Tag names its own buffer: a kernel holding two buffers at once uses
// two tags. Contents are uninitialized; the pointer stays valid until the same thread asks
// the same Tag for more elements than it holds.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>

namespace tenbin::kernels {

template <class T, class Tag>
T* thread_scratch(size_t count) {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);
  struct AlignedDelete {
    void operator()(void* p) const { ::operator delete (p, std::align_val_t{64}); }
  };
  thread_local std::unique_ptr<void, AlignedDelete> buffer;
  thread_local size_t capacity = 0;
  if (count > capacity) {
    buffer.reset();
    capacity = 0;
    buffer.reset(::operator new (count * sizeof(T), std::align_val_t{64}));
    capacity = count;
  }
  return static_cast<T*>(buffer.get());
}

}  // namespace tenbin::kernels
