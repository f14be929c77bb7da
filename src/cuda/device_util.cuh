// Small device helpers shared by the kernels of the CUDA backend: 16-bit float decoding, unaligned
// little-endian loads of the GGUF block formats, warp reductions, and launch-size arithmetic.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <cstring>

namespace tenbin::cuda {

inline constexpr int kWarp = 32;
inline constexpr unsigned kFullMask = 0xFFFFFFFFu;

// The block decoders are __host__ __device__ so that they can be checked against the scalar
// reference on a machine without a GPU; these helpers give them the same arithmetic on both.
#define TENBIN_HD __host__ __device__ __forceinline__
// `#pragma unroll` for the device pass only (the host compiler warns about it).
#ifdef __CUDA_ARCH__
#define TENBIN_UNROLL _Pragma("unroll")
#else
#define TENBIN_UNROLL
#endif

TENBIN_HD float f16_bits_to_f32(uint16_t bits) {
  return __half2float(__ushort_as_half(bits));
}
TENBIN_HD float bf16_bits_to_f32(uint16_t bits) {
  uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}
TENBIN_HD uint16_t load_u16(const uint8_t* p) {  // p 2-byte aligned
  return *reinterpret_cast<const uint16_t*>(p);
}
// Four bytes at a 2-byte aligned address (the GGUF blocks of 18, 34 and 210 bytes are only that).
TENBIN_HD int load_i32_a2(const uint8_t* p) {
  const auto* h = reinterpret_cast<const uint16_t*>(p);
  return static_cast<int>(static_cast<uint32_t>(h[0]) | (static_cast<uint32_t>(h[1]) << 16));
}
TENBIN_HD int load_i32(const void* p) {  // p 4-byte aligned
  return *reinterpret_cast<const int*>(p);
}

// Scale and min of group g (0..7) of a Q4_K/Q5_K super-block's 12 packed scale bytes `s`
// (tensor/blocks.h k4_scale_min).
TENBIN_HD void k4_scale_min_at(const uint8_t* s, int g, int& sc, int& mn) {
  if (g < 4) {
    sc = s[g] & 63;
    mn = s[g + 4] & 63;
  } else {
    sc = (s[g + 4] & 0xF) | ((s[g - 4] >> 6) << 4);
    mn = (s[g + 4] >> 4) | ((s[g] >> 6) << 4);
  }
}

// Correctly rounded f32 product and difference, never fused into an FMA (the reference's
// arithmetic).
TENBIN_HD float mul_rn(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
TENBIN_HD float sub_rn(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fsub_rn(a, b);
#else
  return a - b;
#endif
}
// Sum of the four signed byte products of a and b, plus c.
TENBIN_HD int dp4a(int a, int b, int c) {
#ifdef __CUDA_ARCH__
  return __dp4a(a, b, c);
#else
  for (int i = 0; i < 4; ++i) {
    c += static_cast<int8_t>(a >> (8 * i)) * static_cast<int8_t>(b >> (8 * i));
  }
  return c;
#endif
}
// Bytewise a - b modulo 256.
TENBIN_HD int vsub4(int a, int b) {
#ifdef __CUDA_ARCH__
  return static_cast<int>(__vsub4(static_cast<unsigned>(a), static_cast<unsigned>(b)));
#else
  uint32_t r = 0;
  for (int i = 0; i < 4; ++i) {
    const uint32_t d =
        ((static_cast<uint32_t>(a) >> (8 * i)) - (static_cast<uint32_t>(b) >> (8 * i))) & 0xFF;
    r |= d << (8 * i);
  }
  return static_cast<int>(r);
#endif
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(kFullMask, v, offset);
  return v;
}

// Calls f.template operator()<kTok>() with kTok the smallest of 1, 2, 4 and 8 that holds
// n_tokens: the token counts the decode kernels are instantiated for.
template <class F>
void with_token_slots(int64_t n_tokens, F&& f) {
  if (n_tokens <= 1) {
    f.template operator()<1>();
  } else if (n_tokens <= 2) {
    f.template operator()<2>();
  } else if (n_tokens <= 4) {
    f.template operator()<4>();
  } else {
    f.template operator()<8>();
  }
}

// The Q8_0 activation recipe (kernels/ref/quantize.cc) for one 32-element group held one
// element per lane of a warp: returns this lane's quant, round-half-even(x * 127 / amax); amax
// gets the group's largest magnitude (the scale is amax / 127) on every lane.
__device__ __forceinline__ int quantize_q8_lane(float x, float& amax) {
  amax = fabsf(x);
#pragma unroll
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    amax = fmaxf(amax, __shfl_xor_sync(kFullMask, amax, offset));
  }
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  return __float2int_rn(__fmul_rn(x, id));
}

inline unsigned blocks_for(int64_t n, int per_block) {
  return static_cast<unsigned>((n + per_block - 1) / per_block);
}

}  // namespace tenbin::cuda
