// A calibration as JSON: writing, reading (files from before per-type factors load with none),
// saving, loading and applying it to the catalog.
#include "planner/calibration.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace tenbin::planner {

nlohmann::json calibration_to_json(const Calibration& c) {
  nlohmann::json j;
  j["device"] = c.device;
  j["created"] = c.created;
  j["inputs"] = c.inputs;
  j["limits"] = nlohmann::json::object();
  if (c.bandwidth_gbs) j["limits"]["bandwidth_gbs"] = *c.bandwidth_gbs;
  if (c.fp32_tflops) j["limits"]["fp32_tflops"] = *c.fp32_tflops;
  if (c.int8_tops) j["limits"]["int8_tops"] = *c.int8_tops;
  j["efficiency"] = {{"bandwidth", c.efficiency.bandwidth},
                     {"compute", c.efficiency.compute},
                     {"step_overhead_ms", c.efficiency.step_overhead_ms}};
  if (c.efficiency.compute_int8) j["efficiency"]["compute_int8"] = *c.efficiency.compute_int8;
  if (!c.efficiency.per_type.empty()) {
    nlohmann::json& t = j["efficiency"]["per_type"];
    for (const auto& [type, f] : c.efficiency.per_type) {
      t[type] = {{"bandwidth", f.bandwidth}, {"compute", f.compute}};
    }
  }
  j["fit"] = {
      {"rms_error", c.rms_error}, {"max_error", c.max_error}, {"points", nlohmann::json::array()}};
  for (const CalibrationPoint& p : c.points) {
    j["fit"]["points"].push_back({{"label", p.label},
                                  {"measured", p.measured},
                                  {"predicted", p.predicted},
                                  {"error", p.error()}});
  }
  if (!c.notes.empty()) j["fit"]["notes"] = c.notes;
  return j;
}

Expected<Calibration> calibration_from_json(const nlohmann::json& j, const std::string& origin) {
  try {
    Calibration c;
    c.device = j.at("device").get<std::string>();
    c.created = j.value("created", "");
    if (j.contains("inputs")) c.inputs = j["inputs"].get<std::vector<std::string>>();
    const nlohmann::json& l = j.value("limits", nlohmann::json::object());
    if (l.contains("bandwidth_gbs")) c.bandwidth_gbs = l["bandwidth_gbs"].get<double>();
    if (l.contains("fp32_tflops")) c.fp32_tflops = l["fp32_tflops"].get<double>();
    if (l.contains("int8_tops")) c.int8_tops = l["int8_tops"].get<double>();
    const nlohmann::json& e = j.at("efficiency");
    c.efficiency.bandwidth = e.at("bandwidth").get<double>();
    c.efficiency.compute = e.at("compute").get<double>();
    c.efficiency.step_overhead_ms = e.at("step_overhead_ms").get<double>();
    if (e.contains("compute_int8")) c.efficiency.compute_int8 = e["compute_int8"].get<double>();
    if (e.contains("per_type")) {
      for (const auto& [type, f] : e["per_type"].items()) {
        c.efficiency.per_type[type] = {f.value("bandwidth", 1.0), f.value("compute", 1.0)};
      }
    }
    if (j.contains("fit")) {
      c.rms_error = j["fit"].value("rms_error", 0.0);
      c.max_error = j["fit"].value("max_error", 0.0);
      if (j["fit"].contains("notes")) c.notes = j["fit"]["notes"].get<std::vector<std::string>>();
    }
    return c;
  } catch (const nlohmann::json::exception& ex) {
    return Status::Errorf("{}: not a tenbin calibration ({})", origin, ex.what());
  }
}

Status save_calibration(const Calibration& c, const std::string& path) {
  std::error_code ec;
  const std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  std::ofstream out(path);
  if (!out) return Status::Errorf("cannot write the calibration to {}", path);
  out << calibration_to_json(c).dump(2) << "\n";
  return out ? Status::Ok() : Status::Errorf("writing {} failed", path);
}

Expected<Calibration> load_calibration(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::Errorf("cannot read the calibration {}", path);
  std::stringstream buf;
  buf << in.rdbuf();
  const nlohmann::json j = nlohmann::json::parse(buf.str(), nullptr, false);
  if (j.is_discarded()) return Status::Errorf("{}: not JSON", path);
  return calibration_from_json(j, path);
}

Status apply_calibration(Catalog& catalog, const Calibration& c) {
  for (Device& d : catalog.devices) {
    if (d.id != c.device) continue;
    if (c.bandwidth_gbs) d.bandwidth_gbs = *c.bandwidth_gbs;
    if (c.fp32_tflops) d.fp32_tflops = *c.fp32_tflops;
    if (c.int8_tops) d.int8_tops = *c.int8_tops;
    d.efficiency = c.efficiency;
    return Status::Ok();
  }
  return Status::Errorf("the calibration is for device '{}', which the catalog lacks", c.device);
}

std::string default_calibration_path(const char* xdg_config_home, const char* home) {
  if (xdg_config_home != nullptr && *xdg_config_home != '\0') {
    return std::string(xdg_config_home) + "/tenbin/calibration.json";
  }
  if (home != nullptr && *home != '\0')
    return std::string(home) + "/.config/tenbin/calibration.json";
  return "";
}

}  // namespace tenbin::planner
