// Calibration: fits a device's efficiency factors (bandwidth, compute, int8 compute, per-step
// overhead and, when the inputs measure several weight types, each type's kernel factors) to
// measurements, so predictions match the hardware. Inputs are `tenbin perf --json` output
// (prefill and decode speed with the machine limits measured in the same run, which replace
// the catalog figures) and `tenbin bench --json` output (TTFT and TPOT of a served model at a
// concurrency; needs the model). The fit minimizes squared log errors and reports each
// point's error. Saved as JSON (calibration_json.cc) and applied to the catalog on later runs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "planner/catalog.h"
#include "planner/model_spec.h"
#include "util/status.h"

namespace tenbin::planner {

struct CalibrationPoint {
  std::string label;  // "tinyllama q4_0 tg128 (tokens/s)"
  double measured = 0;
  double predicted = 0;
  double error() const { return measured != 0 ? predicted / measured - 1.0 : 0; }
};

struct Calibration {
  std::string device;                   // catalog id the factors apply to
  std::optional<double> bandwidth_gbs;  // measured limits, replacing the catalog's figures
  std::optional<double> fp32_tflops;
  std::optional<double> int8_tops;
  Efficiency efficiency;
  std::vector<CalibrationPoint> points;
  double rms_error = 0;
  double max_error = 0;
  std::vector<std::string> inputs;  // the files it was fitted on
  std::string created;              // UTC date and time
  std::vector<std::string> notes;   // what the fit assumed where the data could not tell
};

struct CalibrationOptions {
  // Fit each weight type's bandwidth and compute multipliers when the inputs measure two or
  // more types (false: one set of factors for every type).
  bool per_type = true;
};

struct CalibrationInput {
  std::string name;  // file name, for labels
  nlohmann::json doc;
};

// `model` is needed for bench results (they do not carry the model's shape). A perf run's
// shape comes from the GGUF file it names when that is readable, else from `model` when its
// arithmetic matches the run's; it separates the work a prefill does for the last prompt token
// only (output_only_flops: the logits, the last layer's MLP) from the FLOPs per token the run
// reports.
Expected<Calibration> calibrate(const std::vector<CalibrationInput>& inputs, const Catalog& catalog,
                                const std::string& device_id, const std::optional<ModelSpec>& model,
                                const CalibrationOptions& options = {});

nlohmann::json calibration_to_json(const Calibration& c);
Expected<Calibration> calibration_from_json(const nlohmann::json& j, const std::string& origin);
Status save_calibration(const Calibration& c, const std::string& path);
Expected<Calibration> load_calibration(const std::string& path);
// Replaces the device's measured limits and efficiency in `catalog`.
Status apply_calibration(Catalog& catalog, const Calibration& c);

// $XDG_CONFIG_HOME/tenbin/calibration.json, else $HOME/.config/tenbin/calibration.json;
// "" when neither is set.
std::string default_calibration_path(const char* xdg_config_home, const char* home);

}  // namespace tenbin::planner
