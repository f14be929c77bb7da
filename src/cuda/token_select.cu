// Backend::select_top_k on the GPU: one block per output row applies the row's logit edits
// (one thread, in list order, with the host's IEEE operations) and then selects its k best
// tokens in kernels/token_select.h's order, so the result equals the host's bit for bit.
// k = 1 (greedy) is one pass: an argmax over (key, token) reduced through the warps. Larger k
// is a radix select on the order keys: four passes of 8-bit histograms narrow the key of the
// k-th best token; a fifth pass gathers every token above it and, of the tokens equal to it,
// those with the lowest ids (all of them when they are exactly the ones needed, else a warp
// scans the row in id order); the k candidates are then ranked against each other.
#include <cstdint>

#include "cuda/check.h"
#include "cuda/kernel_launch.cuh"
#include "cuda/launch.h"

namespace tenbin::cuda {
namespace {

using kernels::logit_order_key;

constexpr int kThreads = kernels::kMaxSelectK;  // one candidate per thread when ranking
constexpr int kWarps = kThreads / 32;

__device__ __forceinline__ bool better(uint32_t key_a, int32_t token_a, uint32_t key_b,
                                       int32_t token_b) {
  return key_a > key_b || (key_a == key_b && token_a < token_b);
}

// The row's edits, as kernels::apply_logit_edits makes them (no contraction: _rn operations).
__device__ void apply_edits(float* row, int64_t n_vocab, const kernels::LogitEdit* edits,
                            int32_t begin, int32_t end) {
  for (int32_t i = begin; i < end; ++i) {
    const kernels::LogitEdit e = edits[i];
    if (e.token < 0 || e.token >= n_vocab) continue;
    float v = row[e.token];
    if (e.add != 0.0f) v = __fadd_rn(v, e.add);
    if (e.penalty != 1.0f) v = v > 0 ? __fdiv_rn(v, e.penalty) : __fmul_rn(v, e.penalty);
    row[e.token] = __fsub_rn(v, e.subtract);
  }
}

__device__ void select_best(const float* row, int64_t n_vocab, kernels::TokenCandidate* out) {
  uint32_t key = 0;
  int32_t token = INT32_MAX;
  for (int64_t i = threadIdx.x; i < n_vocab; i += kThreads) {
    const uint32_t k = logit_order_key(row[i]);
    if (better(k, static_cast<int32_t>(i), key, token)) {
      key = k;
      token = static_cast<int32_t>(i);
    }
  }
  for (int offset = 16; offset > 0; offset >>= 1) {
    const uint32_t other_key = __shfl_xor_sync(0xFFFFFFFFu, key, offset);
    const int32_t other_token = __shfl_xor_sync(0xFFFFFFFFu, token, offset);
    if (better(other_key, other_token, key, token)) {
      key = other_key;
      token = other_token;
    }
  }
  __shared__ uint32_t warp_key[kWarps];
  __shared__ int32_t warp_token[kWarps];
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  if (lane == 0) {
    warp_key[warp] = key;
    warp_token[warp] = token;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < kWarps; ++w) {
      if (better(warp_key[w], warp_token[w], key, token)) {
        key = warp_key[w];
        token = warp_token[w];
      }
    }
    *out = {token, row[token]};
  }
}

__device__ void select_k(const float* row, int64_t n_vocab, int want,
                         kernels::TokenCandidate* out) {
  __shared__ uint32_t histogram[256];
  __shared__ uint32_t chosen_prefix, chosen_remaining, chosen_equal;
  // Radix select: after the pass at `shift`, `prefix` holds the top bytes of the k-th best key
  // and `remaining` how many tokens of that prefix still belong to the k best.
  uint32_t prefix = 0, mask = 0, remaining = static_cast<uint32_t>(want), equal = 0;
  for (int shift = 24; shift >= 0; shift -= 8) {
    histogram[threadIdx.x] = 0;  // kThreads == 256 bins
    __syncthreads();
    for (int64_t i = threadIdx.x; i < n_vocab; i += kThreads) {
      const uint32_t key = logit_order_key(row[i]);
      if ((key & mask) == prefix) atomicAdd(&histogram[(key >> shift) & 0xFFu], 1u);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      uint32_t left = remaining;
      int digit = 255;
      for (; digit > 0; --digit) {
        if (left <= histogram[digit]) break;
        left -= histogram[digit];
      }
      chosen_prefix = prefix | (static_cast<uint32_t>(digit) << shift);
      chosen_remaining = left;
      chosen_equal = histogram[digit];
    }
    __syncthreads();
    prefix = chosen_prefix;
    remaining = chosen_remaining;
    equal = chosen_equal;
    mask |= 0xFFu << shift;
    __syncthreads();  // every thread read the choice before the next pass overwrites it
  }
  const uint32_t threshold = prefix;  // the k-th best key; `remaining` of its tokens are in

  __shared__ uint32_t cand_key[kThreads];
  __shared__ int32_t cand_token[kThreads];
  __shared__ uint32_t n_cand;
  if (threadIdx.x == 0) n_cand = 0;
  __syncthreads();
  const bool all_equal = equal == remaining;
  for (int64_t i = threadIdx.x; i < n_vocab; i += kThreads) {
    const uint32_t key = logit_order_key(row[i]);
    if (key > threshold || (all_equal && key == threshold)) {
      const uint32_t slot = atomicAdd(&n_cand, 1u);
      cand_key[slot] = key;
      cand_token[slot] = static_cast<int32_t>(i);
    }
  }
  __syncthreads();
  if (!all_equal && threadIdx.x < 32) {
    // Ties at the threshold: the `remaining` lowest ids, found in id order by one warp.
    const uint32_t base = n_cand;
    const unsigned lane = threadIdx.x;
    uint32_t taken = 0;
    for (int64_t start = 0; start < n_vocab && taken < remaining; start += 32) {
      const int64_t i = start + lane;
      const bool is_equal = i < n_vocab && logit_order_key(row[i]) == threshold;
      const unsigned ballot = __ballot_sync(0xFFFFFFFFu, is_equal);
      const uint32_t rank = taken + __popc(ballot & ((1u << lane) - 1u));
      if (is_equal && rank < remaining) {
        cand_key[base + rank] = threshold;
        cand_token[base + rank] = static_cast<int32_t>(i);
      }
      taken += __popc(ballot);
    }
  }
  __syncthreads();
  // Each candidate's place: how many of the others come before it.
  if (static_cast<int>(threadIdx.x) < want) {
    const uint32_t key = cand_key[threadIdx.x];
    const int32_t token = cand_token[threadIdx.x];
    int place = 0;
    for (int j = 0; j < want; ++j) place += better(cand_key[j], cand_token[j], key, token);
    out[place] = {token, row[token]};
  }
}

__global__ void __launch_bounds__(kThreads)
    select_top_k_kernel(float* logits, int64_t n_vocab, const int32_t* top_k,
                        const int32_t* edit_begin, const kernels::LogitEdit* edits, int64_t max_k,
                        kernels::TokenCandidate* best) {
  const int64_t r = blockIdx.x;
  const int k = top_k[r];
  if (k <= 0) return;  // the whole block: k is the row's
  float* row = logits + r * n_vocab;
  if (threadIdx.x == 0) apply_edits(row, n_vocab, edits, edit_begin[r], edit_begin[r + 1]);
  __syncthreads();
  const int want = static_cast<int>(k < n_vocab ? k : n_vocab);
  if (want == 1) {
    select_best(row, n_vocab, best + r * max_k);
  } else {
    select_k(row, n_vocab, want, best + r * max_k);
  }
}

}  // namespace

void launch_select_top_k(float* logits, int64_t n_vocab, int64_t n_rows, const int32_t* top_k,
                         const int32_t* edit_begin, const kernels::LogitEdit* edits, int64_t max_k,
                         kernels::TokenCandidate* best, cudaStream_t stream) {
  if (n_rows <= 0 || n_vocab <= 0 || max_k <= 0) return;
  launch_kernel<select_top_k_kernel>(static_cast<unsigned>(n_rows), kThreads, 0, stream, logits,
                                     n_vocab, top_k, edit_begin, edits, max_k, best);
  TENBIN_CUDA_CHECK_LAUNCH("select_top_k kernel", stream);
}

}  // namespace tenbin::cuda
