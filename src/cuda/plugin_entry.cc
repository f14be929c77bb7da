// The C entry points of libtenbin_cuda.so (backend/plugin_abi.h), the only symbols it exports.
// Nothing may throw across this boundary: every failure becomes a message in `error`.
#include <cstdio>
#include <exception>
#include <string>

#include "backend/plugin_abi.h"
#include "cuda/cuda_backend.h"

namespace {

void write_error(char* error, size_t error_size, const std::string& message) {
  if (error == nullptr || error_size == 0) return;
  std::snprintf(error, error_size, "%s", message.c_str());
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int tenbin_backend_abi_version() {
  return tenbin::backend::kBackendAbiVersion;
}

__attribute__((visibility("default"))) tenbin::backend::Backend* tenbin_create_backend(
    int index, char* error, size_t error_size) {
  try {
    tenbin::Expected<std::unique_ptr<tenbin::cuda::CudaBackend>> backend =
        tenbin::cuda::CudaBackend::create(index);
    if (!backend.ok()) {
      write_error(error, error_size, backend.status().message());
      return nullptr;
    }
    return backend->release();
  } catch (const std::exception& e) {
    write_error(error, error_size, std::string("creating the CUDA backend failed: ") + e.what());
  } catch (...) {
    write_error(error, error_size, "creating the CUDA backend failed with an unknown exception");
  }
  return nullptr;
}

}  // extern "C"

// The loader looks these up through the typedefs of plugin_abi.h: keep the signatures in step.
static_assert(sizeof(TenbinBackendAbiVersionFn{&tenbin_backend_abi_version}) > 0);
static_assert(sizeof(TenbinCreateBackendFn{&tenbin_create_backend}) > 0);
