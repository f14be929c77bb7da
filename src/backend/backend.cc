#include "backend/backend.h"

#include <cstdlib>
#include <cstring>

namespace tenbin::backend {

Buffer host_buffer(size_t bytes) {
  if (bytes == 0) return Buffer();
  const size_t rounded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (p == nullptr) return Buffer();
  std::memset(p, 0, rounded);
  return Buffer(p, bytes, [](void* data) { std::free(data); });
}

}  // namespace tenbin::backend
