// The C entry points a backend plugin (libtenbin_cuda.so) exports for backend_registry.cc.
// The plugin is built from the same sources and headers as the binary that loads it; the
// version number changes whenever backend/backend.h changes shape, and a mismatch is refused.
#pragma once

#include <cstddef>

namespace tenbin::backend {
class Backend;
inline constexpr int kBackendAbiVersion = 2;
}  // namespace tenbin::backend

extern "C" {
// Returns kBackendAbiVersion of the plugin's build.
using TenbinBackendAbiVersionFn = int (*)();
// Creates the backend on device `index`, or returns nullptr and writes a message (NUL-terminated,
// at most error_size bytes) saying why: no driver, no device with that index, out of memory.
// The caller owns the result and deletes it through its virtual destructor.
using TenbinCreateBackendFn = tenbin::backend::Backend* (*)(int index, char* error,
                                                            size_t error_size);
}

// Symbol names the loader looks up.
#define TENBIN_BACKEND_ABI_VERSION_SYMBOL "tenbin_backend_abi_version"
#define TENBIN_CREATE_BACKEND_SYMBOL "tenbin_create_backend"
