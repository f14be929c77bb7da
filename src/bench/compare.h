// `tenbin bench compare a.json b.json`: the summary figures of two result files side by side
// with the ratio b/a. Sweep files are compared level by level (first with first, ...).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "util/status.h"

namespace tenbin::bench {

Expected<nlohmann::json> read_result_file(const std::string& path);
Expected<std::string> compare_results(const nlohmann::json& a, const nlohmann::json& b,
                                      const std::string& name_a, const std::string& name_b);

}  // namespace tenbin::bench
