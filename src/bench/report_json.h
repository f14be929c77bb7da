// The benchmark result as JSON. A single level is one flat object whose summary fields carry
// the names of vLLM's `vllm bench serve` result file (completed, failed, duration,
// request_throughput, output_throughput, total_token_throughput, mean/median/std/p90/p99
// _ttft_ms, _tpot_ms, _itl_ms, _e2el_ms, input_lens, output_lens, ttfts, itls, errors, ...)
// plus ours (goodput, cost_*, failed_by_class, token_count_source, requests[]). A sweep is
// {"runs": [one such object per level]}. `tenbin plan --calibrate` and `bench compare` read
// these files.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "bench/run_report.h"

namespace tenbin::bench {

nlohmann::json run_to_json(const RunReport& report);
// One run: the flat object; several: {"runs": [...]}.
nlohmann::json result_to_json(const std::vector<RunReport>& runs);

}  // namespace tenbin::bench
