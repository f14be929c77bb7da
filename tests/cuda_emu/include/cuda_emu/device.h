// Device-side CUDA for the SIMT emulator: included before each of the CUDA backend's .cu files
// when they are compiled as C++ (tests/cuda_emu/CMakeLists.txt). It gives the function and
// variable qualifiers, the built-in index variables, the warp and block synchronization
// intrinsics (through cuda_emu/simt.h) and the arithmetic intrinsics the kernels use, each with
// the device's IEEE semantics (the _rn operations are correctly rounded, __float2int_rn rounds
// ties to even, __dp4a is exact integer arithmetic).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "cuda_emu/simt.h"

#define TENBIN_CUDA_EMULATION 1
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
// One block runs at a time, in one thread, so a function-local static is the block's shared
// memory (uninitialized on the device; here it keeps the previous block's values).
#define __shared__ static

#define threadIdx (::tenbin::cuda_emu::thread_index())
#define blockIdx (::tenbin::cuda_emu::block_index())
#define blockDim (::tenbin::cuda_emu::block_dim())
#define gridDim (::tenbin::cuda_emu::grid_dim())
inline constexpr int warpSize = 32;

inline void __syncthreads() {
  ::tenbin::cuda_emu::sync_block();
}
inline void __syncwarp(unsigned mask = 0xFFFFFFFFu) {
  uint64_t all[32];
  ::tenbin::cuda_emu::warp_exchange(mask, 0, all);
}

namespace tenbin::cuda_emu {

template <class T>
uint64_t to_word(T v) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "shuffle of a wide type");
  uint64_t word = 0;
  std::memcpy(&word, &v, sizeof v);
  return word;
}
template <class T>
T from_word(uint64_t word) {
  T v;
  std::memcpy(&v, &word, sizeof v);
  return v;
}
// The lane a shuffle reads when `src` is asked for within segments of `width` lanes: src
// itself inside the caller's segment, the caller's own lane outside it.
inline int shuffle_source(int lane, int src, int width) {
  return (src / width == lane / width && src >= 0) ? src : lane;
}

}  // namespace tenbin::cuda_emu

template <class T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
  uint64_t all[32];
  ::tenbin::cuda_emu::warp_exchange(mask, ::tenbin::cuda_emu::to_word(v), all);
  const int lane = ::tenbin::cuda_emu::lane_id();
  const int src = ::tenbin::cuda_emu::shuffle_source(lane, lane ^ lane_mask, width);
  return ::tenbin::cuda_emu::from_word<T>(all[src]);
}
template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  uint64_t all[32];
  ::tenbin::cuda_emu::warp_exchange(mask, ::tenbin::cuda_emu::to_word(v), all);
  const int lane = ::tenbin::cuda_emu::lane_id();
  const int src = ::tenbin::cuda_emu::shuffle_source(lane, lane + static_cast<int>(delta), width);
  return ::tenbin::cuda_emu::from_word<T>(all[src]);
}
template <class T>
T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  uint64_t all[32];
  ::tenbin::cuda_emu::warp_exchange(mask, ::tenbin::cuda_emu::to_word(v), all);
  const int lane = ::tenbin::cuda_emu::lane_id();
  const int src = lane - static_cast<int>(delta);
  return ::tenbin::cuda_emu::from_word<T>(all[src >= (lane / width) * width ? src : lane]);
}
template <class T>
T __shfl_sync(unsigned mask, T v, int src_lane, int width = 32) {
  uint64_t all[32];
  ::tenbin::cuda_emu::warp_exchange(mask, ::tenbin::cuda_emu::to_word(v), all);
  const int lane = ::tenbin::cuda_emu::lane_id();
  return ::tenbin::cuda_emu::from_word<T>(all[(lane / width) * width + src_lane % width]);
}
inline unsigned __ballot_sync(unsigned mask, int predicate) {
  uint64_t all[32];
  ::tenbin::cuda_emu::warp_exchange(mask, predicate != 0 ? 1 : 0, all);
  unsigned bits = 0;
  for (int i = 0; i < 32; ++i) bits |= static_cast<unsigned>(all[i]) << i;
  return bits;
}
// The lanes of `mask` whose `value` equals the caller's.
inline unsigned __match_any_sync(unsigned mask, unsigned value) {
  uint64_t all[32];
  ::tenbin::cuda_emu::warp_exchange(mask, value, all);
  unsigned bits = 0;
  for (int i = 0; i < 32; ++i) {
    if ((mask >> i & 1u) != 0 && all[i] == value) bits |= 1u << i;
  }
  return bits;
}
inline int __any_sync(unsigned mask, int predicate) {
  return __ballot_sync(mask, predicate) != 0;
}
inline int __all_sync(unsigned mask, int predicate) {
  return __ballot_sync(mask, predicate) == 0xFFFFFFFFu;
}

// ---- arithmetic: IEEE single operations with round-to-nearest-even ----

inline float __fmul_rn(float a, float b) {
  return a * b;
}
inline float __fadd_rn(float a, float b) {
  return a + b;
}
inline float __fsub_rn(float a, float b) {
  return a - b;
}
inline float __fdiv_rn(float a, float b) {
  return a / b;
}
inline float __fsqrt_rn(float a) {
  return std::sqrt(a);
}
inline float __fmaf_rn(float a, float b, float c) {
  return std::fma(a, b, c);
}
inline int __float2int_rn(float v) {
  if (std::isnan(v)) return 0;
  if (v >= 2147483647.0f) return 2147483647;
  if (v <= -2147483648.0f) return -2147483647 - 1;
  return static_cast<int>(std::nearbyint(v));  // the default mode: ties to even
}
inline int __popc(unsigned v) {
  return __builtin_popcount(v);
}
inline int __ffs(int v) {
  return __builtin_ffs(v);
}
inline unsigned __float_as_uint(float v) {
  unsigned bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}
// Blocks run one at a time and their threads switch only at barriers and warp operations, so
// an atomic is a plain read-modify-write here.
template <class T>
T atomicAdd(T* address, T value) {
  const T old = *address;
  *address = old + value;
  return old;
}
inline int __dp4a(int a, int b, int c) {
  for (int i = 0; i < 4; ++i) {
    c += static_cast<int8_t>(a >> (8 * i)) * static_cast<int8_t>(b >> (8 * i));
  }
  return c;
}
inline unsigned __vsub4(unsigned a, unsigned b) {
  unsigned r = 0;
  for (int i = 0; i < 4; ++i) r |= (((a >> (8 * i)) - (b >> (8 * i))) & 0xFFu) << (8 * i);
  return r;
}
// Cache-hinted loads are plain loads here.
template <class T>
T __ldcs(const T* p) {
  return *p;
}
template <class T>
T __ldg(const T* p) {
  return *p;
}

// min/max of CUDA's device math, for integers of either width (floats use fminf/fmaxf).
template <class A, class B>
requires std::is_integral_v<A> && std::is_integral_v<B>
constexpr std::common_type_t<A, B> min(A a, B b) {
  return a < b ? a : b;
}
template <class A, class B>
requires std::is_integral_v<A> && std::is_integral_v<B>
constexpr std::common_type_t<A, B> max(A a, B b) {
  return a > b ? a : b;
}
