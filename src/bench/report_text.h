// The human-readable summary `tenbin bench` prints: vLLM's layout (so eyes used to it find
// their figures) plus max, error classes, goodput and cost; a sweep adds one line per level;
// and the one-line live progress shown while a level runs.
#pragma once

#include <string>
#include <vector>

#include "bench/run_report.h"
#include "bench/runner.h"

namespace tenbin::bench {

std::string format_summary(const RunReport& report);
std::string format_sweep_table(const std::vector<RunReport>& runs);
std::string format_progress(const RunProgress& progress);
// "concurrency 8", "rate 4 req/s (burstiness 1)", "all at once".
std::string describe_level(const LoadLevel& level, double burstiness);

}  // namespace tenbin::bench
