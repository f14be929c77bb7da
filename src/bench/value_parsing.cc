#include "bench/value_parsing.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <string>

namespace tenbin::bench {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool parse_double(std::string_view s, double& out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && std::isfinite(out);
}

template <class Fn>
void for_each_item(std::string_view text, Fn fn) {
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const size_t end = comma == std::string_view::npos ? text.size() : comma;
    fn(trim(text.substr(start, end - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
}

}  // namespace

Expected<double> parse_duration_s(std::string_view text) {
  std::string_view s = trim(text);
  double scale = 1.0;
  if (s.ends_with("ms")) {
    scale = 1e-3;
    s.remove_suffix(2);
  } else if (s.ends_with("us")) {
    scale = 1e-6;
    s.remove_suffix(2);
  } else if (s.ends_with("s")) {
    s.remove_suffix(1);
  } else if (s.ends_with("m")) {
    scale = 60;
    s.remove_suffix(1);
  } else if (s.ends_with("h")) {
    scale = 3600;
    s.remove_suffix(1);
  }
  double value = 0;
  if (!parse_double(s, value) || value < 0) {
    return Status::Errorf("'{}' is not a duration (examples: 500ms, 60s, 2m)", text);
  }
  return value * scale;
}

Expected<Slo> parse_slo(std::string_view text) {
  Slo slo;
  Status error;
  for_each_item(text, [&](std::string_view item) {
    if (!error.ok() || item.empty()) return;
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      error = Status::Errorf("SLO '{}': expected name=duration (ttft, tpot or e2el)", item);
      return;
    }
    std::string_view name = trim(item.substr(0, eq));
    auto seconds = parse_duration_s(item.substr(eq + 1));
    if (!seconds.ok()) {
      error = Status::Errorf("SLO '{}': {}", item, seconds.status().message());
      return;
    }
    const double ms = *seconds * 1000.0;
    if (name == "ttft") {
      slo.ttft_ms = ms;
    } else if (name == "tpot") {
      slo.tpot_ms = ms;
    } else if (name == "e2el" || name == "e2e") {
      slo.e2el_ms = ms;
    } else {
      error = Status::Errorf("SLO '{}': unknown metric '{}' (ttft, tpot or e2el)", item, name);
    }
  });
  if (!error.ok()) return error;
  if (!slo.any()) return Status::Errorf("SLO '{}': no objective given", text);
  return slo;
}

Expected<std::vector<double>> parse_number_list(std::string_view text, bool allow_inf) {
  std::vector<double> out;
  Status error;
  for_each_item(text, [&](std::string_view item) {
    if (!error.ok()) return;
    double value = 0;
    if (allow_inf && item == "inf") {
      out.push_back(std::numeric_limits<double>::infinity());
    } else if (parse_double(item, value) && value > 0) {
      out.push_back(value);
    } else {
      error = Status::Errorf("'{}' in '{}' is not a positive number", item, text);
    }
  });
  if (!error.ok()) return error;
  if (out.empty()) return Status::Errorf("'{}': empty list", text);
  return out;
}

}  // namespace tenbin::bench
