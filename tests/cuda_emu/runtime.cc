// The CUDA runtime API of the SIMT emulator (include/cuda_runtime_api.h): one device whose
// memory is host memory. Streams do their work at once in the calling thread, so every
// asynchronous call has completed when it returns and events time host intervals. Device
// allocations are tracked, so that freeing a pointer that was never allocated is an error, as
// it is on the device, and cudaMemGetInfo reports what is in use; each ends at a guard page and
// starts filled with 0xFF bytes (cudaMalloc), so out-of-bounds and uninitialized reads show.
#include <cuda_runtime_api.h>

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "cuda_emu/simt.h"

namespace {

constexpr size_t kDeviceBytes = size_t{4} << 30;  // what the emulated device reports
constexpr size_t kAlignment = 256;                // cudaMalloc's guarantee

struct CUevent_data {
  std::chrono::steady_clock::time_point at;
  bool recorded = false;
};

std::mutex mutex;
std::map<void*, size_t> device_allocations;  // start -> bytes asked for
struct Mapping {
  void* base;
  size_t bytes;
};
std::map<void*, Mapping> mappings;  // start -> the pages holding it and its guard page

// SIGSEGV: a guard page after a device buffer (or any other bad address) was touched. Reports
// the kernel running, then lets the default action end the process.
void guard_fault(int sig, siginfo_t* info, void*) {
  char message[512];
  const int n = std::snprintf(
      message, sizeof message,
      "cuda emulator: kernel fault in %s: invalid memory access at %p (past the end of a device "
      "buffer, or not device memory)\n",
      tenbin::cuda_emu::running_kernel(), info->si_addr);
  if (n > 0) (void)!write(STDERR_FILENO, message, static_cast<size_t>(std::min<int>(n, 511)));
  signal(sig, SIG_DFL);
  raise(sig);
}

void install_guard_handler() {
  static const bool installed = [] {
    struct sigaction action {};
    action.sa_sigaction = guard_fault;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    return sigaction(SIGSEGV, &action, nullptr) == 0;
  }();
  (void)installed;
}
size_t device_in_use = 0;
thread_local int current_device = 0;

// True when [p, p + bytes) lies inside one device allocation.
bool is_device_range(const void* p, size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = device_allocations.upper_bound(const_cast<void*>(p));
  if (it == device_allocations.begin()) return false;
  --it;
  const auto* base = static_cast<const char*>(it->first);
  const auto* q = static_cast<const char*>(p);
  return q >= base && q + bytes <= base + it->second;
}

cudaError_t fail(cudaError_t err) {
  tenbin::cuda_emu::set_last_error(err);
  return err;
}

}  // namespace

void tenbin::cuda_emu::check_kernel_pointer(const char* kernel, size_t argument, const void* p) {
  if (p == nullptr) return;
  if (is_device_range(p, 0)) return;  // into a buffer, or just past its end
  std::fprintf(stderr,
               "cuda emulator: kernel fault in %s: argument %zu (%p) is not device memory (a host "
               "pointer the device cannot read)\n",
               kernel, argument, p);
  std::fflush(stderr);
  std::abort();
}

struct CUstream_st {
  unsigned flags = 0;
  bool capturing = false;
  bool invalidated = false;  // an unsupported call happened during the capture
  std::vector<std::function<void()>> captured;
};
struct CUgraph_st {
  std::vector<std::function<void()>> work;
};
struct CUgraphExec_st {
  std::vector<std::function<void()>> work;
};

namespace {

// Streams capturing on this thread (cudaStreamCaptureModeThreadLocal and Global alike: the
// backend captures one stream from one thread).
thread_local std::vector<cudaStream_t> capturing_streams;

// A call CUDA refuses while a stream captures (synchronization, allocation): the capture is
// invalidated, as on the device.
bool refuse_during_capture() {
  if (capturing_streams.empty()) return false;
  for (cudaStream_t s : capturing_streams) s->invalidated = true;
  tenbin::cuda_emu::set_last_error(cudaErrorStreamCaptureUnsupported);
  return true;
}

}  // namespace

bool tenbin::cuda_emu::record_if_capturing(cudaStream_t stream, const std::function<void()>& work) {
  if (stream == nullptr || !stream->capturing) return false;
  stream->captured.push_back(work);
  return true;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode /*mode*/) {
  if (stream == nullptr || stream->capturing) return fail(cudaErrorInvalidValue);
  stream->capturing = true;
  stream->invalidated = false;
  stream->captured.clear();
  capturing_streams.push_back(stream);
  return cudaSuccess;
}
cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  if (stream == nullptr || graph == nullptr || !stream->capturing)
    return fail(cudaErrorInvalidValue);
  stream->capturing = false;
  std::erase(capturing_streams, stream);
  *graph = nullptr;
  if (stream->invalidated) return fail(cudaErrorStreamCaptureInvalidated);
  *graph = new CUgraph_st{std::move(stream->captured)};
  stream->captured.clear();
  return cudaSuccess;
}
cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph,
                                 unsigned long long /*flags*/) {
  if (exec == nullptr || graph == nullptr) return fail(cudaErrorInvalidValue);
  *exec = new CUgraphExec_st{graph->work};
  return cudaSuccess;
}
cudaError_t cudaGraphExecUpdate(cudaGraphExec_t exec, cudaGraph_t graph,
                                cudaGraphExecUpdateResultInfo* result) {
  if (exec == nullptr || graph == nullptr) return fail(cudaErrorInvalidValue);
  // The device updates a graph of the same topology in place; the same effect here.
  exec->work = graph->work;
  if (result != nullptr) *result = {cudaGraphExecUpdateSuccess, nullptr, nullptr};
  return cudaSuccess;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  if (exec == nullptr) return fail(cudaErrorInvalidValue);
  ++tenbin::cuda_emu::graph_launches();
  if (tenbin::cuda_emu::record_if_capturing(stream, [exec] {
        for (const auto& work : exec->work) work();
      })) {
    return cudaSuccess;
  }
  for (const auto& work : exec->work) work();
  return cudaSuccess;
}
cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  delete graph;
  return cudaSuccess;
}
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  delete exec;
  return cudaSuccess;
}
struct CUevent_st {
  CUevent_data data;
};

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess:
      return "no error";
    case cudaErrorInvalidValue:
      return "invalid argument";
    case cudaErrorMemoryAllocation:
      return "out of memory";
    case cudaErrorCudartUnloading:
      return "driver shutting down";
    case cudaErrorInvalidConfiguration:
      return "invalid configuration argument";
    case cudaErrorInvalidDevice:
      return "invalid device ordinal";
    case cudaErrorNoKernelImageForDevice:
      return "no kernel image is available for execution on the device";
    case cudaErrorLaunchFailure:
      return "unspecified launch failure";
    case cudaErrorStreamCaptureUnsupported:
      return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated:
      return "operation failed due to a previous error during capture";
    case cudaErrorGraphExecUpdateFailure:
      return "the graph update was not performed because it included changes which violated "
             "constraints specific to instantiated graph update";
  }
  return "unknown error";
}

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess:
      return "cudaSuccess";
    case cudaErrorInvalidValue:
      return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation:
      return "cudaErrorMemoryAllocation";
    case cudaErrorCudartUnloading:
      return "cudaErrorCudartUnloading";
    case cudaErrorInvalidConfiguration:
      return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice:
      return "cudaErrorInvalidDevice";
    case cudaErrorNoKernelImageForDevice:
      return "cudaErrorNoKernelImageForDevice";
    case cudaErrorLaunchFailure:
      return "cudaErrorLaunchFailure";
    case cudaErrorStreamCaptureUnsupported:
      return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorStreamCaptureInvalidated:
      return "cudaErrorStreamCaptureInvalidated";
    case cudaErrorGraphExecUpdateFailure:
      return "cudaErrorGraphExecUpdateFailure";
  }
  return "cudaErrorUnknown";
}

cudaError_t cudaGetLastError() {
  return tenbin::cuda_emu::take_last_error(true);
}
cudaError_t cudaPeekAtLastError() {
  return tenbin::cuda_emu::take_last_error(false);
}

cudaError_t cudaGetDeviceCount(int* count) {
  if (count == nullptr) return fail(cudaErrorInvalidValue);
  *count = 1;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) {
  if (device != 0) return fail(cudaErrorInvalidDevice);
  current_device = device;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
  if (device == nullptr) return fail(cudaErrorInvalidValue);
  *device = current_device;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (prop == nullptr) return fail(cudaErrorInvalidValue);
  if (device != 0) return fail(cudaErrorInvalidDevice);
  *prop = cudaDeviceProp{};
  std::snprintf(prop->name, sizeof prop->name, "SIMT emulator");
  prop->totalGlobalMem = kDeviceBytes;
  prop->sharedMemPerBlock = 48 << 10;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = prop->maxThreadsDim[1] = 1024;
  prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 0x7FFFFFFF;
  prop->maxGridSize[1] = prop->maxGridSize[2] = 65535;
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = 4;
  return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (value == nullptr) return fail(cudaErrorInvalidValue);
  if (device != 0) return fail(cudaErrorInvalidDevice);
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock:
      *value = 1024;
      return cudaSuccess;
    case cudaDevAttrWarpSize:
      *value = 32;
      return cudaSuccess;
    case cudaDevAttrMultiProcessorCount:
      *value = 4;
      return cudaSuccess;
  }
  return fail(cudaErrorInvalidValue);
}
cudaError_t cudaDeviceSynchronize() {
  if (refuse_during_capture()) return cudaErrorStreamCaptureUnsupported;
  return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  if (free_bytes == nullptr || total_bytes == nullptr) return fail(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(mutex);
  *total_bytes = kDeviceBytes;
  *free_bytes = kDeviceBytes - std::min(device_in_use, kDeviceBytes);
  return cudaSuccess;
}
cudaError_t cudaFuncGetAttributes(cudaFuncAttributes* attr, const void* func) {
  if (attr == nullptr || func == nullptr) return fail(cudaErrorInvalidValue);
  *attr = cudaFuncAttributes{};
  attr->maxThreadsPerBlock = 1024;
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** ptr, size_t size) {
  if (ptr == nullptr) return fail(cudaErrorInvalidValue);
  if (refuse_during_capture()) return cudaErrorStreamCaptureUnsupported;
  *ptr = nullptr;
  if (size == 0) return cudaSuccess;
  std::lock_guard<std::mutex> lock(mutex);
  if (size > kDeviceBytes - std::min(device_in_use, kDeviceBytes)) {
    return fail(cudaErrorMemoryAllocation);
  }
  // The buffer ends (to cudaMalloc's 256-byte granule) where an inaccessible page begins, so a
  // kernel that reads or writes past its end faults there (guard_fault below) instead of
  // touching another buffer; and it starts filled with 0xFF bytes (NaN floats, -1 integers),
  // so that reading device memory nothing wrote shows in the results, as it may on a GPU.
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t used = (size + kAlignment - 1) / kAlignment * kAlignment;
  const size_t span = (used + page - 1) / page * page + page;
  void* base = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return fail(cudaErrorMemoryAllocation);
  char* guard = static_cast<char*>(base) + span - page;
  if (mprotect(guard, page, PROT_NONE) != 0) {
    munmap(base, span);
    return fail(cudaErrorMemoryAllocation);
  }
  install_guard_handler();
  char* p = guard - used;
  std::memset(p, 0xFF, used);
  device_allocations[p] = size;
  mappings[p] = {base, span};
  device_in_use += size;
  *ptr = p;
  return cudaSuccess;
}
cudaError_t cudaFree(void* ptr) {
  if (ptr == nullptr) return cudaSuccess;
  if (refuse_during_capture()) return cudaErrorStreamCaptureUnsupported;
  std::lock_guard<std::mutex> lock(mutex);
  const auto it = device_allocations.find(ptr);
  if (it == device_allocations.end()) return fail(cudaErrorInvalidValue);
  device_in_use -= it->second;
  device_allocations.erase(it);
  const Mapping mapping = mappings.at(ptr);
  mappings.erase(ptr);
  munmap(mapping.base, mapping.bytes);
  return cudaSuccess;
}
cudaError_t cudaMallocHost(void** ptr, size_t size) {
  if (ptr == nullptr) return fail(cudaErrorInvalidValue);
  *ptr = size == 0
             ? nullptr
             : std::aligned_alloc(kAlignment, (size + kAlignment - 1) / kAlignment * kAlignment);
  return size == 0 || *ptr != nullptr ? cudaSuccess : fail(cudaErrorMemoryAllocation);
}
cudaError_t cudaFreeHost(void* ptr) {
  std::free(ptr);
  return cudaSuccess;
}
cudaError_t cudaMemcpy(void* dst, const void* src, size_t count, cudaMemcpyKind kind) {
  if (count == 0) return cudaSuccess;
  if (dst == nullptr || src == nullptr) return fail(cudaErrorInvalidValue);
  // The device's copy engines refuse a range outside device memory on the device side.
  const bool dst_device = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool src_device = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if ((dst_device && !is_device_range(dst, count)) ||
      (src_device && !is_device_range(src, count))) {
    return fail(cudaErrorInvalidValue);
  }
  std::memmove(dst, src, count);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t count, cudaMemcpyKind kind,
                            cudaStream_t stream) {
  if (tenbin::cuda_emu::record_if_capturing(stream,
                                            [=] { (void)cudaMemcpy(dst, src, count, kind); })) {
    return cudaSuccess;
  }
  return cudaMemcpy(dst, src, count, kind);
}
cudaError_t cudaMemsetAsync(void* ptr, int value, size_t count, cudaStream_t stream) {
  if (tenbin::cuda_emu::record_if_capturing(
          stream, [=] { (void)cudaMemsetAsync(ptr, value, count, nullptr); })) {
    return cudaSuccess;
  }
  if (count == 0) return cudaSuccess;
  if (ptr == nullptr || !is_device_range(ptr, count)) return fail(cudaErrorInvalidValue);
  std::memset(ptr, value, count);
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) {
  return cudaStreamCreateWithFlags(stream, cudaStreamDefault);
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags) {
  if (stream == nullptr) return fail(cudaErrorInvalidValue);
  *stream = new CUstream_st{};
  (*stream)->flags = flags;
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  delete stream;
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t /*stream*/) {
  if (refuse_during_capture()) return cudaErrorStreamCaptureUnsupported;
  return cudaSuccess;
}
cudaError_t cudaEventCreate(cudaEvent_t* event) {
  return cudaEventCreateWithFlags(event, cudaEventDefault);
}
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned /*flags*/) {
  if (event == nullptr) return fail(cudaErrorInvalidValue);
  *event = new CUevent_st{};
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t event) {
  delete event;
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t /*stream*/) {
  if (event == nullptr) return fail(cudaErrorInvalidValue);
  event->data.at = std::chrono::steady_clock::now();
  event->data.recorded = true;
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  return event == nullptr ? fail(cudaErrorInvalidValue) : cudaSuccess;
}
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (ms == nullptr || start == nullptr || end == nullptr || !start->data.recorded ||
      !end->data.recorded) {
    return fail(cudaErrorInvalidValue);
  }
  *ms = std::chrono::duration<float, std::milli>(end->data.at - start->data.at).count();
  return cudaSuccess;
}
