// Reference dot products of one weight row with one activation row already converted to the
// weight type's dot partner (see ops.h matmul). Float formats: exact products summed in double.
// Block formats: exact integer sums per block, scaled per block in f32; most formats sum the
// blocks in f32 in order, Q4_1, Q5_1 and Q5_K in llama.cpp's 8-lane x86 order (see each).
// Also the table of which partner each weight type takes.
#include <cmath>

#include "kernels/ref/ref_ops.h"
#include "kernels/ref/unpack.h"
#include "tensor/blocks.h"
#include "tensor/half.h"

namespace tenbin::kernels::ref {
namespace {

float load_f32(const void* p, int64_t i) {
  return static_cast<const float*>(p)[i];
}
float load_f16(const void* p, int64_t i) {
  return fp16_to_f32(static_cast<const uint16_t*>(p)[i]);
}
float load_bf16(const void* p, int64_t i) {
  return bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
}

// Weight and activation rows in the same float format.
template <float (*Load)(const void*, int64_t)>
float dot_float(int64_t n, const void* w, const void* x) {
  double acc = 0;
  for (int64_t i = 0; i < n; ++i) acc += static_cast<double>(Load(w, i)) * Load(x, i);
  return static_cast<float>(acc);
}

// Eight f32 lane accumulators summed pairwise as an 8-wide horizontal add does:
// ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)).
float hsum_lanes(const float* l) {
  return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
}

// Q4_0, Q5_0, Q8_0 against Q8_0: an exact integer sum per block, scaled per block in f32,
// blocks summed in f32 in order.
template <class Block>
float dot_small(int64_t n, const void* w_row, const void* act_row) {
  const auto* w = static_cast<const Block*>(w_row);
  const auto* a = static_cast<const BlockQ8_0*>(act_row);
  SmallBlock v;
  float sum = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    unpack(w[i], &v);
    int isum = 0;
    for (int j = 0; j < kQK; ++j) isum += v.q[j] * a[i].qs[j];
    sum += v.d * fp16_to_f32(a[i].d) * static_cast<float>(isum);
  }
  return sum;
}

// Q4_1, Q5_1 against Q8_1, in llama.cpp's x86 order (these random-weight models amplify the
// summation order into whole logits): lane k of 8 holds the exact integer sum of elements
// 4k..4k+3 of a block and accumulates it as fma(lane, d_w * d_x, acc[k]) block after block; the
// offset terms m * s (s = the activation block's d_x * sum(q_x)) are summed separately in f32
// and added after the lanes' horizontal sum.
template <class Block>
float dot_offset(int64_t n, const void* w_row, const void* act_row) {
  const auto* w = static_cast<const Block*>(w_row);
  const auto* a = static_cast<const BlockQ8_1*>(act_row);
  SmallBlock v;
  float acc[8] = {};
  float offsets = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    unpack(w[i], &v);
    int lane[8] = {};
    for (int j = 0; j < kQK; ++j) lane[j / 4] += v.q[j] * a[i].qs[j];
    const float d = v.d * fp16_to_f32(a[i].d);
    for (int k = 0; k < 8; ++k) acc[k] = std::fma(static_cast<float>(lane[k]), d, acc[k]);
    const float offset = v.m * fp16_to_f32(a[i].s);
    offsets += offset;
  }
  return hsum_lanes(acc) + offsets;
}

// K formats against Q8_K: sum_g scale[g] * sum(q * q_x) scaled by d * d_x, minus
// sum_g min[g] * (group sums of q_x, from bsums) scaled by dmin * d_x.
template <class Block>
float dot_k(int64_t n, const void* w_row, const void* act_row) {
  const auto* w = static_cast<const Block*>(w_row);
  const auto* a = static_cast<const BlockQ8_K*>(act_row);
  KBlock v;
  float sum = 0;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    unpack(w[i], &v);
    int isum = 0, msum = 0;
    for (int g = 0; g < kQKK / v.group; ++g) {
      int gsum = 0;
      for (int e = g * v.group; e < (g + 1) * v.group; ++e) gsum += v.q[e] * a[i].qs[e];
      isum += v.scale[g] * gsum;
      if constexpr (kHasMin<Block>) {
        for (int s = g * v.group / 16; s < (g + 1) * v.group / 16; ++s)
          msum += v.min[g] * a[i].bsums[s];
      }
    }
    float term = v.d * a[i].d * static_cast<float>(isum);
    if constexpr (kHasMin<Block>) term -= v.dmin * a[i].d * static_cast<float>(msum);
    sum += term;
  }
  return sum;
}

// Q5_K against Q8_K in llama.cpp's x86 order: lane k of 8 holds the exact integer sum over the
// super-block of scale[g] * q * q_x for the elements e with e % 32 in 4k..4k+3, accumulated as
// fma(d_x * d, lane, acc[k]); the min terms (-d_x * dmin) * sum_g(min[g] * group sum of q_x)
// are summed separately in f32 and added after the lanes' horizontal sum.
float dot_q5_k_lanes(int64_t n, const void* w_row, const void* act_row) {
  const auto* w = static_cast<const BlockQ5_K*>(w_row);
  const auto* a = static_cast<const BlockQ8_K*>(act_row);
  KBlock v;
  float acc[8] = {};
  float mins = 0;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    unpack(w[i], &v);
    int lane[8] = {};
    for (int e = 0; e < kQKK; ++e) {
      lane[(e % 32) / 4] += v.scale[e / v.group] * v.q[e] * a[i].qs[e];
    }
    int msum = 0;
    for (int s = 0; s < kQKK / 16; ++s) msum += v.min[16 * s / v.group] * a[i].bsums[s];
    const float d = a[i].d * v.d;
    for (int k = 0; k < 8; ++k) acc[k] = std::fma(d, static_cast<float>(lane[k]), acc[k]);
    const float dmin = -a[i].d * v.dmin;
    const float term = dmin * static_cast<float>(msum);
    mins += term;
  }
  return hsum_lanes(acc) + mins;
}

// Q8_1 is an activation format; as a weight it is dotted against f32 activations.
float dot_q8_1_f32(int64_t n, const void* w_row, const void* act_row) {
  const auto* w = static_cast<const BlockQ8_1*>(w_row);
  const auto* x = static_cast<const float*>(act_row);
  double acc = 0;
  for (int64_t i = 0; i < n; ++i) {
    acc += static_cast<double>(fp16_to_f32(w[i / kQK].d) * w[i / kQK].qs[i % kQK]) * x[i];
  }
  return static_cast<float>(acc);
}

}  // namespace

DType dot_partner(DType weight) {
  switch (weight) {
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16:
      return weight;
    case DType::kQ4_0:
    case DType::kQ5_0:
    case DType::kQ8_0:
      return DType::kQ8_0;
    case DType::kQ4_1:
    case DType::kQ5_1:
      return DType::kQ8_1;
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
      return DType::kQ8_K;
    case DType::kQ8_1:
    case DType::kQ8_K:
      break;
  }
  return DType::kF32;
}

float vec_dot_f32(int64_t n, const void* w, const void* x) {
  return dot_float<load_f32>(n, w, x);
}
float vec_dot_f16(int64_t n, const void* w, const void* x) {
  return dot_float<load_f16>(n, w, x);
}
float vec_dot_bf16(int64_t n, const void* w, const void* x) {
  return dot_float<load_bf16>(n, w, x);
}
float vec_dot_q4_0(int64_t n, const void* w, const void* a) {
  return dot_small<BlockQ4_0>(n, w, a);
}
float vec_dot_q4_1(int64_t n, const void* w, const void* a) {
  return dot_offset<BlockQ4_1>(n, w, a);
}
float vec_dot_q5_0(int64_t n, const void* w, const void* a) {
  return dot_small<BlockQ5_0>(n, w, a);
}
float vec_dot_q5_1(int64_t n, const void* w, const void* a) {
  return dot_offset<BlockQ5_1>(n, w, a);
}
float vec_dot_q8_0(int64_t n, const void* w, const void* a) {
  return dot_small<BlockQ8_0>(n, w, a);
}
float vec_dot_q2_k(int64_t n, const void* w, const void* a) {
  return dot_k<BlockQ2_K>(n, w, a);
}
float vec_dot_q3_k(int64_t n, const void* w, const void* a) {
  return dot_k<BlockQ3_K>(n, w, a);
}
float vec_dot_q4_k(int64_t n, const void* w, const void* a) {
  return dot_k<BlockQ4_K>(n, w, a);
}
float vec_dot_q5_k(int64_t n, const void* w, const void* a) {
  return dot_q5_k_lanes(n, w, a);
}
float vec_dot_q6_k(int64_t n, const void* w, const void* a) {
  return dot_k<BlockQ6_K>(n, w, a);
}

VecDotFn vec_dot_for(DType weight) {
  switch (weight) {
    case DType::kF32:
      return vec_dot_f32;
    case DType::kF16:
      return vec_dot_f16;
    case DType::kBF16:
      return vec_dot_bf16;
    case DType::kQ4_0:
      return vec_dot_q4_0;
    case DType::kQ4_1:
      return vec_dot_q4_1;
    case DType::kQ5_0:
      return vec_dot_q5_0;
    case DType::kQ5_1:
      return vec_dot_q5_1;
    case DType::kQ8_0:
      return vec_dot_q8_0;
    case DType::kQ2_K:
      return vec_dot_q2_k;
    case DType::kQ3_K:
      return vec_dot_q3_k;
    case DType::kQ4_K:
      return vec_dot_q4_k;
    case DType::kQ5_K:
      return vec_dot_q5_k;
    case DType::kQ6_K:
      return vec_dot_q6_k;
    case DType::kQ8_1:
      return dot_q8_1_f32;
    case DType::kQ8_K:
      break;
  }
  return nullptr;
}

}  // namespace tenbin::kernels::ref
