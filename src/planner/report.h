// How a plan is shown: a ranked table for people, JSON for tools (the field names the docs
// list), and a self-contained HTML page with an inline SVG chart of cost per 1K requests
// against TTFT p99 (the cost/latency frontier). No network access is needed to view it.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "planner/planner.h"

namespace tenbin::planner {

struct ReportOptions {
  int max_rows = 12;        // accepted configurations in the table; rejected ones are summarized
  bool all = false;         // every configuration
  std::string calibration;  // where efficiency factors came from, for the header
};

std::string quant_label(const PlanRequest& r, const std::string& quant);

nlohmann::json plan_to_json(const PlanRequest& r, const PlanResult& result, const ReportOptions& o);
std::string plan_to_text(const PlanRequest& r, const PlanResult& result, const ReportOptions& o);
std::string plan_to_html(const PlanRequest& r, const PlanResult& result, const ReportOptions& o);

}  // namespace tenbin::planner
