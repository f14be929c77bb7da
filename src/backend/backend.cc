#include "backend/backend.h"

#include "util/large_alloc.h"

namespace tenbin::backend {

Buffer host_buffer(size_t bytes) {
  if (bytes == 0) return Buffer();
  void* p = allocate_large(bytes);  // zero-filled
  if (p == nullptr) return Buffer();
  return Buffer(p, bytes, [bytes](void* data) { free_large(data, bytes); });
}

}  // namespace tenbin::backend
