#include "planner/workload.h"

#include <cstdlib>
#include <sstream>

#include <fmt/format.h>

namespace tenbin::planner {
namespace {

Expected<double> parse_duration_ms(const std::string& key, const std::string& value) {
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  const std::string unit = end ? std::string(end) : "";
  if (end == value.c_str() || !(v > 0)) {
    return Status::Errorf("--slo {}: '{}' is not a positive duration (e.g. 500ms, 0.5s)", key,
                          value);
  }
  if (unit.empty() || unit == "ms") return v;
  if (unit == "s") return v * 1000.0;
  if (unit == "us") return v / 1000.0;
  return Status::Errorf("--slo {}: unknown unit '{}' (use ms or s)", key, unit);
}

}  // namespace

Expected<Slo> parse_slo(const std::string& text) {
  Slo slo;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string::npos) {
      return Status::Errorf("--slo: '{}' is not key=value (e.g. ttft_p99=500ms)", item);
    }
    const std::string key = item.substr(0, eq);
    auto ms = parse_duration_ms(key, item.substr(eq + 1));
    if (!ms.ok()) return ms.status();
    if (key == "ttft_p99" || key == "ttft") {
      slo.ttft_p99_ms = *ms;
    } else if (key == "tpot" || key == "itl") {
      slo.tpot_ms = *ms;
    } else if (key == "p99" || key == "latency" || key == "latency_p99") {
      slo.p99_ms = *ms;
    } else if (key == "e2e" || key == "e2e_p99") {
      slo.e2e_p99_ms = *ms;
    } else {
      return Status::Errorf("--slo: unknown objective '{}' (ttft_p99, tpot, p99, e2e_p99)", key);
    }
  }
  return slo;
}

std::string describe_slo(const Slo& slo) {
  std::string out;
  auto add = [&](const char* name, const std::optional<double>& v) {
    if (!v) return;
    if (!out.empty()) out += ", ";
    out += fmt::format("{} <= {:g} ms", name, *v);
  };
  add("TTFT p99", slo.ttft_p99_ms);
  add("TPOT", slo.tpot_ms);
  add("latency p99", slo.p99_ms);
  add("E2E p99", slo.e2e_p99_ms);
  return out.empty() ? "none" : out;
}

Status validate_workload(const Workload& w, std::string_view model_kind) {
  if (w.concurrency < 1) return Status::Error("--concurrency must be at least 1");
  if (w.input_len < 1) return Status::Error("--input-len must be at least 1");
  if (w.batch < 1) return Status::Error("--batch must be at least 1");
  const bool decoder_kind = w.kind == "chat" || w.kind == "completion";
  if (model_kind == "decoder") {
    if (!decoder_kind) {
      return Status::Errorf("--workload {} does not suit a decoder model (use chat or completion)",
                            w.kind);
    }
    if (w.output_len < 1) return Status::Error("--output-len must be at least 1");
  } else if (model_kind == "encoder" && w.kind != "embed") {
    return Status::Errorf("--workload {} does not suit an encoder model (use embed)", w.kind);
  } else if (model_kind == "vision" && w.kind != "detect") {
    return Status::Errorf("--workload {} does not suit a vision model (use detect)", w.kind);
  }
  return Status::Ok();
}

}  // namespace tenbin::planner
