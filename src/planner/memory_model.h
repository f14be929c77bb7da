// Device memory of one replica under tensor parallelism: weights (exact bytes of each tensor's
// quantized type) split over the devices, KV cache per sequence (2 x layers x kv_heads x
// head_dim x 2 bytes per token, rounded up to whole 16-token blocks), activations and
// workspace of the largest step, and the runtime's fixed overhead. What is left of the
// usable memory bounds the batch.
#pragma once

#include <cstdint>
#include <string>

#include "planner/catalog.h"
#include "planner/model_spec.h"
#include "planner/workload.h"

namespace tenbin::planner {

struct MemoryAssumptions {
  int64_t block_tokens = 16;            // paged KV cache block
  int64_t prefill_chunk_tokens = 2048;  // tokens per step at most (chunked prefill budget)
  int64_t max_num_seqs = 256;           // sequences per step at most
  double kv_bytes_per_element = 2.0;    // f16 KV cache
};

struct MemoryEstimate {  // all per device, GiB
  double capacity_gib = 0;
  double usable_gib = 0;  // capacity x memory_utilization
  double weights_gib = 0;
  double activations_gib = 0;
  double overhead_gib = 0;
  double kv_per_sequence_gib = 0;  // one sequence of input + output tokens, block-rounded
  int64_t max_batch = 0;           // sequences (requests) one replica can hold at once
  double kv_cache_gib = 0;         // for the sequences the workload keeps in flight
  double headroom_gib = 0;         // usable minus everything above
  bool fits = false;
  std::string why_not;  // when !fits
};

MemoryEstimate estimate_memory(const ModelSpec& m, const std::string& quant, const Device& d,
                               double memory_utilization, const Workload& w, int tp,
                               int64_t in_flight, const MemoryAssumptions& a = {});

}  // namespace tenbin::planner
