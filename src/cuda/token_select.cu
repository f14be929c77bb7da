// Backend::select_top_k on the GPU: one block per output row applies the row's logit edits
// (one thread, in list order, with the host's IEEE operations), then selects its k best tokens
// in kernels/token_select.h's order, so the result equals the host's bit for bit, or draws a
// token (kernels/token_draw.h's draw_from_row) without sending the row back.
// k = 1 (greedy) is one pass: an argmax over (key, token) reduced through the warps. Larger k
// is a radix select on the order keys: four passes of 8-bit histograms (one shared-memory atomic
// per warp and bin) narrow the key of the k-th best token; a fifth pass gathers every token above
// it and, of the tokens equal to it, those with the lowest ids (all of them when they are exactly
// the ones needed, else a warp scans the row in id order); the k candidates are then ranked against
// each other. A draw selects the kMaxSelectK best so, then sums the weights of the other tokens
// ("the rest") per warp over 8 contiguous id ranges; one thread takes the cuts and walks the best
// tokens as the host does, and when u's share reaches into the rest, the warp of that range
// walks it in id order (prefix sums over 32 tokens at a time). The rest's sums run in another
// order than the host's, so a draw may differ from it where u lands within rounding of a
// boundary (~1e-16 relative).
// Backend::raw_logprobs runs here too, on the rows before their edits: the same selection for
// the best raw tokens, and the log-softmax normalizer.
#include <cfloat>
#include <cmath>
#include <cstdint>

#include "cuda/check.h"
#include "cuda/kernel_launch.cuh"
#include "cuda/launch.h"
#include "kernels/token_draw.h"
#include "kernels/token_logprobs.h"

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

// Which tokens select_k took: those with a key above `threshold`, and those equal to it up to
// id `last_equal`.
struct Selected {
  uint32_t threshold = 0;
  int64_t last_equal = 0;
  __device__ bool contains(int64_t token, uint32_t key) const {
    return key > threshold || (key == threshold && token <= last_equal);
  }
};

// The `want` best tokens of the row, best first, into sorted_token / sorted_logit (shared).
__device__ Selected select_k(const float* row, int64_t n_vocab, int want, int32_t* sorted_token,
                             float* sorted_logit) {
  __shared__ uint32_t histogram[256];
  __shared__ uint32_t chosen_prefix, chosen_remaining, chosen_equal;
  // Radix select: after the pass at `shift`, `prefix` holds the top bytes of the k-th best key
  // and `remaining` how many tokens of that prefix still belong to the k best.
  uint32_t prefix = 0, mask = 0, remaining = static_cast<uint32_t>(want), equal = 0;
  for (int shift = 24; shift >= 0; shift -= 8) {
    histogram[threadIdx.x] = 0;  // kThreads == 256 bins
    __syncthreads();
    // Most keys share their top bytes (logits of similar size): one atomic per warp and bin,
    // not one per lane, or the warp's adds to one bin are serialized.
    for (int64_t base = 0; base < n_vocab; base += kThreads) {
      const int64_t i = base + threadIdx.x;
      unsigned bin = 256;  // none
      if (i < n_vocab) {
        const uint32_t key = logit_order_key(row[i]);
        if ((key & mask) == prefix) bin = (key >> shift) & 0xFFu;
      }
      const unsigned peers = __match_any_sync(0xFFFFFFFFu, bin);
      const int leader = __ffs(static_cast<int>(peers)) - 1;
      if (bin < 256 && static_cast<int>(threadIdx.x % 32) == leader) {
        atomicAdd(&histogram[bin], static_cast<uint32_t>(__popc(peers)));
      }
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
  __shared__ int64_t last_equal;
  const bool all_equal = equal == remaining;
  if (threadIdx.x == 0) {
    n_cand = 0;
    last_equal = INT64_MAX;  // every equal token, unless the warp below takes fewer
  }
  __syncthreads();
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
        if (rank == remaining - 1) last_equal = i;
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
    sorted_token[place] = token;
    sorted_logit[place] = row[token];
  }
  __syncthreads();
  Selected selected;
  selected.threshold = threshold;
  selected.last_equal = last_equal;
  return selected;
}

__device__ __forceinline__ double weight(float logit, double max_logit, double temperature) {
  return exp((static_cast<double>(logit) - max_logit) / temperature);
}

template <class T>
__device__ __forceinline__ T warp_add(T v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xFFFFFFFFu, v, offset);
  return v;
}
__device__ __forceinline__ int64_t warp_max(int64_t v) {
  for (int offset = 16; offset > 0; offset >>= 1) {
    const int64_t other = __shfl_xor_sync(0xFFFFFFFFu, v, offset);
    v = other > v ? other : v;
  }
  return v;
}

// kernels::draw_from_row over the row's m best (sorted_token / sorted_logit, shared) and the
// rest; writes the drawn token (or kDrawNeedsSortedRow) and its logit to *out.
__device__ void draw_row(const float* row, int64_t n_vocab, const int32_t* sorted_token,
                         const float* sorted_logit, int m, const Selected& selected,
                         const kernels::DrawParams& params, kernels::TokenCandidate* out) {
  __shared__ double w_best[kThreads];
  __shared__ double range_sum[kWarps];
  __shared__ int64_t range_last[kWarps];  // the range's last token of positive weight, or -1
  __shared__ int walk_range;
  __shared__ double walk_r;
  __shared__ int64_t drawn;
  const double max_logit = sorted_logit[0];
  const double temperature = params.temperature;
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  if (static_cast<int>(threadIdx.x) < m) {
    w_best[threadIdx.x] = weight(sorted_logit[threadIdx.x], max_logit, temperature);
  }
  // The rest, per warp over one contiguous range of ids.
  const int64_t range_len = (n_vocab + kWarps - 1) / kWarps;
  const int64_t begin = warp * range_len;
  const int64_t end = begin + range_len < n_vocab ? begin + range_len : n_vocab;
  double sum = 0;
  int64_t last = -1;
  for (int64_t i = begin + lane; i < end; i += 32) {
    const float l = row[i];
    if (selected.contains(i, kernels::logit_order_key(l))) continue;
    const double w = weight(l, max_logit, temperature);
    sum += w;
    if (w > 0) last = i;
  }
  sum = warp_add(sum);
  last = warp_max(last);
  if (lane == 0) {
    range_sum[warp] = sum;
    range_last[warp] = last;
  }
  __syncthreads();

  if (threadIdx.x == 0) {
    // The host's recipe over the best tokens (kernels/token_draw.cc), the rest as its ranges.
    double sum_best = 0, sum_rest = 0;
    for (int i = 0; i < m; ++i) sum_best += w_best[i];
    for (int w = 0; w < kWarps; ++w) sum_rest += range_sum[w];
    const double total_weight = sum_best + sum_rest;
    const bool has_rest = m < n_vocab;
    int keep = has_rest ? -1 : m;
    bool needs_sorted = false;
    if (params.top_p < 1.0f) {
      const double target = static_cast<double>(params.top_p) * total_weight;
      double cumulative = 0;
      int cut = -1;
      for (int i = 0; i < m && cut < 0; ++i) {
        cumulative += w_best[i];
        if (cumulative >= target) cut = i + 1;
      }
      if (cut < 0 && has_rest) needs_sorted = true;
      if (cut > 0) keep = cut;
    }
    if (!needs_sorted && params.min_p > 0.0f) {
      const int limit = keep < 0 ? m : keep;
      int cut = 1;
      while (cut < limit && w_best[cut] >= params.min_p) ++cut;
      if (keep < 0 && cut == m) needs_sorted = true;
      keep = cut;
    }
    walk_range = -1;
    drawn = -1;
    if (needs_sorted) {
      drawn = kernels::kDrawNeedsSortedRow;
    } else {
      int64_t last_walked = sorted_token[0];
      const int walked = keep > 0 ? keep : m;
      double kept = 0;
      for (int i = 0; i < walked; ++i) kept += w_best[i];
      double r = params.u * (keep > 0 ? kept : total_weight);
      for (int i = 0; i < walked && drawn < 0; ++i) {
        r -= w_best[i];
        if (r < 0) drawn = sorted_token[i];
        if (w_best[i] > 0) last_walked = sorted_token[i];
      }
      if (drawn < 0 && keep < 0) {  // into the rest: find its range
        for (int w = 0; w < kWarps && walk_range < 0; ++w) {
          if (r < range_sum[w]) {
            walk_range = w;
            walk_r = r;
          } else {
            r -= range_sum[w];
          }
        }
        if (walk_range < 0) {  // rounding left r: the rest's last token of positive weight
          for (int w = 0; w < kWarps; ++w) {
            if (range_last[w] >= 0) last_walked = range_last[w];
          }
        }
      }
      if (drawn < 0 && walk_range < 0) drawn = last_walked;
    }
  }
  __syncthreads();
  if (warp == walk_range) {
    // r falls in this range: walk it in id order, 32 tokens at a time.
    double r = walk_r;
    int64_t found = -1, last_positive = range_last[warp];
    for (int64_t start = begin; start < end && found < 0; start += 32) {
      const int64_t i = start + lane;
      double w = 0;
      if (i < end) {
        const float l = row[i];
        if (!selected.contains(i, kernels::logit_order_key(l))) {
          w = weight(l, max_logit, temperature);
        }
      }
      double prefix = w;  // inclusive prefix sum over the lanes
      for (int offset = 1; offset < 32; offset <<= 1) {
        const double below = __shfl_up_sync(0xFFFFFFFFu, prefix, offset);
        if (lane >= offset) prefix += below;
      }
      const unsigned hit = __ballot_sync(0xFFFFFFFFu, r - prefix < 0);
      if (hit != 0) {
        found = start + __ffs(static_cast<int>(hit)) - 1;
      } else {
        r -= __shfl_sync(0xFFFFFFFFu, prefix, 31);
      }
    }
    if (lane == 0) drawn = found >= 0 ? found : last_positive;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    const auto token = static_cast<int32_t>(drawn);
    *out = {token, token >= 0 ? row[token] : 0.0f};
  }
}

__global__ void __launch_bounds__(kThreads)
    select_top_k_kernel(float* logits, int64_t n_vocab, const int32_t* top_k,
                        const int32_t* edit_begin, const kernels::LogitEdit* edits,
                        const kernels::DrawParams* draw, int64_t max_k,
                        kernels::TokenCandidate* best) {
  const int64_t r = blockIdx.x;
  const int k = top_k[r];
  const bool draws = k == kernels::kDrawFromRow && draw != nullptr;
  if (k <= 0 && !draws) return;  // the whole block: k is the row's
  float* row = logits + r * n_vocab;
  kernels::TokenCandidate* out = best + r * max_k;
  if (threadIdx.x == 0) apply_edits(row, n_vocab, edits, edit_begin[r], edit_begin[r + 1]);
  __syncthreads();
  const int64_t k_wanted = draws ? kernels::kMaxSelectK : k;
  const int want = static_cast<int>(k_wanted < n_vocab ? k_wanted : n_vocab);
  if (want == 1 && !draws) {
    select_best(row, n_vocab, out);
    return;
  }
  __shared__ int32_t sorted_token[kThreads];
  __shared__ float sorted_logit[kThreads];
  const Selected selected = select_k(row, n_vocab, want, sorted_token, sorted_logit);
  if (draws) {
    draw_row(row, n_vocab, sorted_token, sorted_logit, want, selected, draw[r], out);
  } else if (static_cast<int>(threadIdx.x) < want) {
    out[threadIdx.x] = {sorted_token[threadIdx.x], sorted_logit[threadIdx.x]};
  }
}

// Backend::raw_logprobs: one block per row that reports logprobs, before select_top_k_kernel
// edits the row. The raw logits of the row's edit tokens first, then the normalizer around the
// row's best logit (per-thread double sums of exp, added over the warps and then the warps in
// order: the host's sum in another order), then the row's n best tokens by the selection above.
__global__ void __launch_bounds__(kThreads)
    raw_logprobs_kernel(const float* logits, int64_t n_vocab, const int32_t* logprobs,
                        const int32_t* edit_begin, const kernels::LogitEdit* edits,
                        kernels::RowLogprobs* rows, float* edit_raw) {
  const int64_t r = blockIdx.x;
  const int n_top = logprobs[r];
  if (n_top < 0) return;  // the whole block: n_top is the row's
  const float* row = logits + r * n_vocab;
  kernels::RowLogprobs* out = rows + r;
  for (int32_t e = edit_begin[r] + static_cast<int32_t>(threadIdx.x); e < edit_begin[r + 1];
       e += kThreads) {
    const int32_t token = edits[e].token;
    edit_raw[e] = token >= 0 && token < n_vocab ? row[token] : NAN;
  }
  __shared__ kernels::TokenCandidate best;
  select_best(row, n_vocab, &best);
  __syncthreads();
  const float max_logit = best.logit;
  const bool finite = fabsf(max_logit) <= FLT_MAX;  // NaN and infinities: no sum
  double sum = 0;
  if (finite) {
    for (int64_t i = threadIdx.x; i < n_vocab; i += kThreads) {
      sum += exp(static_cast<double>(row[i]) - static_cast<double>(max_logit));
    }
  }
  sum = warp_add(sum);
  __shared__ double warp_sum[kWarps];
  if (threadIdx.x % 32 == 0) warp_sum[threadIdx.x / 32] = sum;
  __syncthreads();
  const int want = static_cast<int>(n_top < n_vocab ? n_top : n_vocab);
  if (threadIdx.x == 0) {
    double total = 0;
    for (int w = 0; w < kWarps; ++w) total += warp_sum[w];
    out->log_z =
        finite ? static_cast<float>(static_cast<double>(max_logit) + log(total)) : max_logit;
    out->n_top = want;
    if (want == 1) out->top[0] = best;
  }
  if (want <= 1) return;
  __shared__ int32_t sorted_token[kThreads];
  __shared__ float sorted_logit[kThreads];
  select_k(row, n_vocab, want, sorted_token, sorted_logit);
  if (static_cast<int>(threadIdx.x) < want) {
    out->top[threadIdx.x] = {sorted_token[threadIdx.x], sorted_logit[threadIdx.x]};
  }
}

}  // namespace

void launch_raw_logprobs(const float* logits, int64_t n_vocab, int64_t n_rows,
                         const int32_t* logprobs, const int32_t* edit_begin,
                         const kernels::LogitEdit* edits, kernels::RowLogprobs* rows,
                         float* edit_raw, cudaStream_t stream) {
  if (n_rows <= 0 || n_vocab <= 0) return;
  launch_kernel<raw_logprobs_kernel>(static_cast<unsigned>(n_rows), kThreads, 0, stream, logits,
                                     n_vocab, logprobs, edit_begin, edits, rows, edit_raw);
  TENBIN_CUDA_CHECK_LAUNCH("raw_logprobs kernel", stream);
}

void launch_select_top_k(float* logits, int64_t n_vocab, int64_t n_rows, const int32_t* top_k,
                         const int32_t* edit_begin, const kernels::LogitEdit* edits,
                         const kernels::DrawParams* draw, int64_t max_k,
                         kernels::TokenCandidate* best, cudaStream_t stream) {
  if (n_rows <= 0 || n_vocab <= 0 || max_k <= 0) return;
  launch_kernel<select_top_k_kernel>(static_cast<unsigned>(n_rows), kThreads, 0, stream, logits,
                                     n_vocab, top_k, edit_begin, edits, draw, max_k, best);
  TENBIN_CUDA_CHECK_LAUNCH("select_top_k kernel", stream);
}

}  // namespace tenbin::cuda
