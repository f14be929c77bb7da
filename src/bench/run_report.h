// One finished load level as the reports see it: the configuration, the level, the request
// records, the summary, and when it ran. A sweep is a list of these.
#pragma once

#include <string>
#include <vector>

#include "bench/bench_config.h"
#include "bench/request_record.h"
#include "bench/summary.h"

namespace tenbin::bench {

struct RunReport {
  BenchConfig config;
  LoadLevel level;
  std::vector<RequestRecord> records;
  BenchSummary summary;
  bool interrupted = false;
  std::string date;  // local time the level started, "YYYYMMDD-HHMMSS" as vLLM writes it
};

}  // namespace tenbin::bench
