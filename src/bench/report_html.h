// The self-contained HTML report: one file with its data, CSS and JavaScript inline (no
// network), drawing SVG charts in the browser: latency CDFs (TTFT, TPOT/ITL, E2E), TTFT and
// ITL histograms, output throughput and concurrency over time, the summary table, and for a
// sweep the throughput-latency curve across levels.
#pragma once

#include <string>
#include <vector>

#include "bench/run_report.h"

namespace tenbin::bench {

std::string render_html(const std::vector<RunReport>& runs);

// The page's static parts (report_html_assets.cc).
extern const char* const kReportCss;
extern const char* const kReportScript;

}  // namespace tenbin::bench
