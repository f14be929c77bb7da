// RoPE in place, one block per token. The angles follow the reference exactly (kernels/ref/
// ops.cc rope_angles): theta_0 = pos, theta_{i+1} = theta_i * theta_scale, each product rounded
// to f32 in the same sequence, angle = freq_scale * theta. cos and sin are taken in double and
// rounded to f32 (the C library's cosf/sinf are within an ulp of that), and the rotation rounds
// each product and sum as the reference does (no fused multiply-add).
#include <cstdint>

#include "cuda/check.h"
#include "cuda/device_util.cuh"
#include "cuda/kernel_launch.cuh"
#include "cuda/launch.h"

namespace tenbin::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kMaxPairs = 256;  // rot_dim <= 512

__global__ void __launch_bounds__(kThreads)
    rope_kernel(float* x, int n_heads, int head_dim, const int32_t* positions, RopeArgs args) {
  __shared__ float table[2 * kMaxPairs];  // cos of each pair, then sin
  const int n_pairs = args.rot_dim / 2;
  const int64_t t = blockIdx.x;
  const int pos = positions[t];
  for (int i = threadIdx.x; i < n_pairs; i += kThreads) {
    float theta = static_cast<float>(pos);
    for (int j = 0; j < i; ++j) theta = __fmul_rn(theta, args.theta_scale);
    const double angle = static_cast<double>(__fmul_rn(args.freq_scale, theta));
    double s, c;
    sincos(angle, &s, &c);
    table[i] = static_cast<float>(c);
    table[n_pairs + i] = static_cast<float>(s);
  }
  __syncthreads();
  float* xt = x + t * static_cast<int64_t>(n_heads) * head_dim;
  for (int k = threadIdx.x; k < n_heads * n_pairs; k += kThreads) {
    const int h = k / n_pairs, i = k % n_pairs;
    float* v = xt + static_cast<int64_t>(h) * head_dim;
    const int a = args.neox ? i : 2 * i;
    const int b = args.neox ? i + n_pairs : 2 * i + 1;
    const float c = table[i], s = table[n_pairs + i];
    const float x0 = v[a], x1 = v[b];
    v[a] = __fsub_rn(__fmul_rn(x0, c), __fmul_rn(x1, s));
    v[b] = __fadd_rn(__fmul_rn(x0, s), __fmul_rn(x1, c));
  }
}

}  // namespace

void launch_rope(float* x, int64_t n_tokens, int n_heads, int head_dim, const int32_t* positions,
                 const RopeArgs& args, cudaStream_t stream) {
  if (n_tokens <= 0 || n_heads <= 0 || args.rot_dim < 2) return;
  TENBIN_CUDA_REQUIRE(args.rot_dim <= head_dim, "rope: rot_dim exceeds head_dim");
  TENBIN_CUDA_REQUIRE(args.rot_dim <= 2 * kMaxPairs, "rope: rot_dim exceeds 512");
  TENBIN_CUDA_REQUIRE(n_tokens <= 0x7FFFFFFF, "rope: too many tokens for one launch");
  launch_kernel<rope_kernel>(static_cast<unsigned>(n_tokens), kThreads, 0, stream, x, n_heads,
                             head_dim, positions, args);
  TENBIN_CUDA_CHECK_LAUNCH("rope kernel", stream);
}

}  // namespace tenbin::cuda
