// Parsers for the values `tenbin bench` takes on its command line: durations ("500ms",
// "60s", "2m", a bare number of seconds), SLO lists ("ttft=500ms,tpot=50ms") and comma
// separated sweep levels ("1,8,32"). Errors name the offending text.
#pragma once

#include <string_view>
#include <vector>

#include "bench/bench_config.h"
#include "util/status.h"

namespace tenbin::bench {

Expected<double> parse_duration_s(std::string_view text);
Expected<Slo> parse_slo(std::string_view text);
// Positive numbers separated by commas; "inf" is accepted when `allow_inf`.
Expected<std::vector<double>> parse_number_list(std::string_view text, bool allow_inf);

}  // namespace tenbin::bench
