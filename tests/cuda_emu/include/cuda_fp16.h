// The SIMT emulator's half type: IEEE binary16 with the toolkit's conversion functions, rounding
// as the device does (to nearest, ties to even), computed by tensor/half.h.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "tensor/half.h"

struct alignas(2) __half {
  uint16_t bits;
};
struct alignas(4) __half2 {
  __half x, y;
};
using half = __half;
using half2 = __half2;

inline float __half2float(__half h) {
  return tenbin::fp16_to_f32(h.bits);
}
inline __half __float2half_rn(float f) {
  return __half{tenbin::f32_to_fp16(f)};
}
inline __half __float2half(float f) {
  return __float2half_rn(f);
}
inline __half __ushort_as_half(unsigned short bits) {
  return __half{bits};
}
inline unsigned short __half_as_ushort(__half h) {
  return h.bits;
}
inline float2 __half22float2(__half2 h) {
  return {__half2float(h.x), __half2float(h.y)};
}
inline __half2 __floats2half2_rn(float a, float b) {
  return {__float2half_rn(a), __float2half_rn(b)};
}
