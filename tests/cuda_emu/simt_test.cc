// Tests of the SIMT emulator itself (the CUDA backend's tests through it are op_test_backend_
// cuda_emu and reference_outputs_cuda_emu): built-in indices, warp shuffles and votes, block
// barriers with shared memory, launch-configuration errors, the runtime's device-memory checks,
// cublasGemmEx against a hand-computed product, and the faults it must report (a shuffle some
// lanes never reach, a host pointer given to a kernel).
#include <cublas_v2.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "cuda_emu/device.h"

namespace {

using tenbin::cuda_emu::launch;

template <class T>
T* device_copy(const std::vector<T>& host) {
  T* p = nullptr;
  EXPECT_EQ(cudaMalloc(&p, host.size() * sizeof(T)), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(p, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice),
            cudaSuccess);
  return p;
}
template <class T>
std::vector<T> host_copy(const T* p, size_t n) {
  std::vector<T> host(n);
  EXPECT_EQ(cudaMemcpy(host.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
  return host;
}

__global__ void write_indices(int* out) {
  const unsigned block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const unsigned thread = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  out[block * blockDim.x * blockDim.y * blockDim.z + thread] =
      static_cast<int>(1000 * block + thread);
}

TEST(SimtEmulator, EveryThreadOfAThreeDimensionalGridRunsOnceWithItsIndices) {
  const dim3 grid(3, 2, 2), block(8, 4, 2);
  const int n = 12 * 64;
  int* out = device_copy(std::vector<int>(n, -1));
  launch("write_indices", write_indices, grid, block, 0, nullptr, out);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  const std::vector<int> got = host_copy(out, n);
  for (int b = 0; b < 12; ++b) {
    for (int t = 0; t < 64; ++t) ASSERT_EQ(got[b * 64 + t], 1000 * b + t) << b << " " << t;
  }
  EXPECT_EQ(cudaFree(out), cudaSuccess);
}

__global__ void shuffles(int* out) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  int sum = lane;
  for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_xor_sync(0xFFFFFFFFu, sum, offset);
  const int down = __shfl_down_sync(0xFFFFFFFFu, lane * 10, 3);
  const int up = __shfl_up_sync(0xFFFFFFFFu, lane * 10, 2);
  const int from5 = __shfl_sync(0xFFFFFFFFu, lane * 10, 5);
  const unsigned odd = __ballot_sync(0xFFFFFFFFu, lane % 2);
  const double wide = __shfl_xor_sync(0xFFFFFFFFu, lane + 0.5, 1);
  int* o = out + threadIdx.x * 6;
  o[0] = sum;
  o[1] = down;
  o[2] = up;
  o[3] = from5;
  o[4] = static_cast<int>(odd);
  o[5] = static_cast<int>(wide * 2);
}

TEST(SimtEmulator, WarpShufflesAndBallotExchangeTheirLanesValues) {
  int* out = device_copy(std::vector<int>(64 * 6, 0));
  launch("shuffles", shuffles, 1, 64, 0, nullptr, out);
  const std::vector<int> got = host_copy(out, 64 * 6);
  for (int t = 0; t < 64; ++t) {
    const int lane = t % 32;
    const int* o = got.data() + t * 6;
    EXPECT_EQ(o[0], 31 * 32 / 2);
    EXPECT_EQ(o[1], (lane + 3 < 32 ? lane + 3 : lane) * 10);  // beyond the warp: own value
    EXPECT_EQ(o[2], (lane >= 2 ? lane - 2 : lane) * 10);
    EXPECT_EQ(o[3], 50);
    EXPECT_EQ(static_cast<unsigned>(o[4]), 0xAAAAAAAAu);
    EXPECT_EQ(o[5], 2 * (lane ^ 1) + 1);
  }
  EXPECT_EQ(cudaFree(out), cudaSuccess);
}

constexpr int kReverseThreads = 96;
__global__ void reverse_in_shared(const int* in, int* out) {
  __shared__ int tile[kReverseThreads];
  const int i = static_cast<int>(threadIdx.x);
  tile[i] = in[blockIdx.x * kReverseThreads + i];
  __syncthreads();  // without it, early threads would read slots not yet written
  out[blockIdx.x * kReverseThreads + i] = tile[kReverseThreads - 1 - i];
}

TEST(SimtEmulator, BlockBarrierOrdersSharedMemory) {
  std::vector<int> in(3 * kReverseThreads);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<int>(i);
  int* d_in = device_copy(in);
  int* d_out = device_copy(std::vector<int>(in.size(), -1));
  launch("reverse_in_shared", reverse_in_shared, 3, kReverseThreads, 0, nullptr, d_in, d_out);
  const std::vector<int> got = host_copy(d_out, in.size());
  for (int b = 0; b < 3; ++b) {
    for (int i = 0; i < kReverseThreads; ++i) {
      ASSERT_EQ(got[b * kReverseThreads + i], b * kReverseThreads + kReverseThreads - 1 - i);
    }
  }
  EXPECT_EQ(cudaFree(d_in), cudaSuccess);
  EXPECT_EQ(cudaFree(d_out), cudaSuccess);
}

__global__ void reverse_without_barrier(const int* in, int* out) {
  __shared__ int tile[kReverseThreads];
  const int i = static_cast<int>(threadIdx.x);
  tile[i] = in[i];
  out[i] = tile[kReverseThreads - 1 - i];  // no __syncthreads: a race on a GPU
}

TEST(SimtEmulator, AMissingBarrierReadsUnwrittenSharedMemory) {
  std::vector<int> in(kReverseThreads);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<int>(i);
  int* d_in = device_copy(in);
  int* d_out = device_copy(std::vector<int>(in.size(), -1));
  // Poison the tile, then race: a thread that reads a slot not yet written this block gets -7.
  int* poison = device_copy(std::vector<int>(kReverseThreads, -7));
  launch("reverse_without_barrier", reverse_without_barrier, 1, kReverseThreads, 0, nullptr, poison,
         d_out);
  launch("reverse_without_barrier", reverse_without_barrier, 1, kReverseThreads, 0, nullptr, d_in,
         d_out);
  const std::vector<int> got = host_copy(d_out, in.size());
  int stale = 0;
  for (int i = 0; i < kReverseThreads; ++i) stale += got[i] != kReverseThreads - 1 - i;
  EXPECT_GT(stale, 0);  // the later half of the threads in run order read the previous values
  EXPECT_EQ(cudaFree(poison), cudaSuccess);
  EXPECT_EQ(cudaFree(d_in), cudaSuccess);
  EXPECT_EQ(cudaFree(d_out), cudaSuccess);
}

__global__ void add_one(int* x) {
  x[threadIdx.x] += 1;
}

TEST(SimtEmulator, CapturedWorkRunsOnlyWhenItsGraphLaunches) {
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  int* x = device_copy(std::vector<int>(32, 0));
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), cudaSuccess);
  launch("add_one", add_one, 1, 32, 0, stream, x);
  EXPECT_EQ(cudaMemsetAsync(x, 0, 4, stream), cudaSuccess);  // x[0] = 0, after the add
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
  EXPECT_EQ(host_copy(x, 32)[5], 0);  // nothing ran yet
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
  const std::vector<int> got = host_copy(x, 32);
  EXPECT_EQ(got[0], 0);
  EXPECT_EQ(got[5], 2);

  // Allocating while capturing is refused and spoils the capture, as on the device.
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), cudaSuccess);
  void* p = nullptr;
  EXPECT_EQ(cudaMalloc(&p, 64), cudaErrorStreamCaptureUnsupported);
  cudaGraph_t spoiled = nullptr;
  EXPECT_EQ(cudaStreamEndCapture(stream, &spoiled), cudaErrorStreamCaptureInvalidated);
  (void)cudaGetLastError();
  EXPECT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
  EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
  EXPECT_EQ(cudaFree(x), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

TEST(SimtEmulator, RejectsLaunchConfigurationsCudaRejects) {
  int* out = device_copy(std::vector<int>(1, 0));
  launch("write_indices", write_indices, 1, 2048, 0, nullptr, out);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);  // reading it clears it
  launch("write_indices", write_indices, dim3(1, 70000), 32, 0, nullptr, out);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  EXPECT_EQ(host_copy(out, 1)[0], 0);  // nothing ran
  EXPECT_EQ(cudaFree(out), cudaSuccess);
}

TEST(SimtEmulator, RuntimeRefusesCopiesAndFreesOutsideDeviceMemory) {
  std::vector<int> host(8, 1), other(8, 2);
  EXPECT_EQ(cudaMemcpy(other.data(), host.data(), 32, cudaMemcpyHostToDevice),
            cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  int* d = device_copy(host);
  EXPECT_EQ(cudaMemcpy(d, host.data(), 64, cudaMemcpyHostToDevice), cudaErrorInvalidValue);
  EXPECT_EQ(cudaFree(host.data()), cudaErrorInvalidValue);
  EXPECT_EQ(cudaFree(d), cudaSuccess);
  (void)cudaGetLastError();
}

TEST(SimtEmulator, GemmExComputesTheColumnMajorProductAndChecksLeadingDimensions) {
  // A is 3x2 stored row-major = a 2x3 column-major matrix At; y = op(At)^T-style product:
  // C (2x2) = A^T(2x3) * B(3x2) with A column-major 3x2 (lda 3) and transa = T.
  const std::vector<float> a = {1, 2, 3, 4, 5, 6};  // columns (1,2,3) and (4,5,6)
  const std::vector<float> b = {1, 0, 2, 0, 1, 1};  // columns (1,0,2) and (0,1,1)
  float* d_a = device_copy(a);
  float* d_b = device_copy(b);
  float* d_c = device_copy(std::vector<float>(4, -1));
  cublasHandle_t handle = nullptr;
  ASSERT_EQ(cublasCreate(&handle), CUBLAS_STATUS_SUCCESS);
  const float alpha = 1, beta = 0;
  ASSERT_EQ(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, 2, 2, 3, &alpha, d_a, CUDA_R_32F, 3, d_b,
                         CUDA_R_32F, 3, &beta, d_c, CUDA_R_32F, 2, CUBLAS_COMPUTE_32F,
                         CUBLAS_GEMM_DEFAULT),
            CUBLAS_STATUS_SUCCESS);
  // C[i][j] = column i of A . column j of B.
  EXPECT_EQ(host_copy(d_c, 4), (std::vector<float>{7, 16, 5, 11}));
  EXPECT_EQ(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, 2, 2, 3, &alpha, d_a, CUDA_R_32F, 2, d_b,
                         CUDA_R_32F, 3, &beta, d_c, CUDA_R_32F, 2, CUBLAS_COMPUTE_32F,
                         CUBLAS_GEMM_DEFAULT),
            CUBLAS_STATUS_INVALID_VALUE);  // lda 2 < k 3
  EXPECT_EQ(cublasDestroy(handle), CUBLAS_STATUS_SUCCESS);
  for (float* p : {d_a, d_b, d_c}) EXPECT_EQ(cudaFree(p), cudaSuccess);
}

__global__ void shuffle_after_partial_exit(int* out) {
  if (threadIdx.x % 32 >= 16) return;
  out[threadIdx.x] = __shfl_xor_sync(0xFFFFFFFFu, static_cast<int>(threadIdx.x), 1);
}
__global__ void shuffle_against_barrier(int* out) {
  if (threadIdx.x < 8) {
    __syncthreads();
  } else {
    out[threadIdx.x] = __shfl_xor_sync(0xFFFFFFFFu, 1, 1);
  }
}

TEST(SimtEmulatorDeathTest, ReportsAShuffleSomeLanesNeverReach) {
  int* out = device_copy(std::vector<int>(64, 0));
  EXPECT_DEATH(
      launch("shuffle_after_partial_exit", shuffle_after_partial_exit, 1, 64, 0, nullptr, out),
      "kernel fault in shuffle_after_partial_exit.*reached by 16 of its 32 lanes");
  EXPECT_DEATH(launch("shuffle_against_barrier", shuffle_against_barrier, 1, 32, 0, nullptr, out),
               "reached by 24 of its 32 lanes.*at __syncthreads");
  EXPECT_EQ(cudaFree(out), cudaSuccess);
}

__global__ void read_one_past(const int* in, int n, int* out) {
  out[threadIdx.x] = in[n + static_cast<int>(threadIdx.x)];
}

TEST(SimtEmulatorDeathTest, ReportsAReadPastTheEndOfADeviceBuffer) {
  int* in = device_copy(std::vector<int>(256, 7));
  int* out = device_copy(std::vector<int>(32, 0));
  launch("read_one_past", read_one_past, 1, 32, 0, nullptr, in, 224, out);  // in bounds
  EXPECT_EQ(host_copy(out, 32), std::vector<int>(32, 7));
  EXPECT_DEATH(launch("read_one_past", read_one_past, 1, 32, 0, nullptr, in, 240, out),
               "kernel fault in read_one_past: invalid memory access");
  EXPECT_EQ(cudaFree(in), cudaSuccess);
  EXPECT_EQ(cudaFree(out), cudaSuccess);
}

TEST(SimtEmulator, NewDeviceMemoryReadsAsNan) {
  float* p = nullptr;
  ASSERT_EQ(cudaMalloc(&p, 16 * sizeof(float)), cudaSuccess);
  for (float v : host_copy(p, 16)) EXPECT_TRUE(std::isnan(v));
  EXPECT_EQ(cudaFree(p), cudaSuccess);
}

TEST(SimtEmulatorDeathTest, ReportsAHostPointerGivenToAKernel) {
  std::vector<int> host(64);
  EXPECT_DEATH(launch("write_indices", write_indices, 1, 32, 0, nullptr, host.data()),
               "argument 0 .* is not device memory");
}

}  // namespace
