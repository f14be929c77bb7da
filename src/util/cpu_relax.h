// A hint to the core inside a spin-wait loop (x86 `pause`: lets the sibling hyperthread run and
// avoids the memory-order flush on exit); nothing elsewhere.
#pragma once

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace tenbin {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

}  // namespace tenbin
