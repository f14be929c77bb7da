// `tenbin plan`: the GPU capacity planner. Picks hardware for a model, a workload and its
// SLOs from the built-in catalog (data/gpus.yaml, compiled in) plus --catalog files; prints a
// ranked table, JSON (--json) or an HTML chart (--html). `plan explain` shows the arithmetic
// of one configuration; `plan --calibrate` fits efficiency factors to `tenbin perf`/`bench`
// results and saves them for later runs.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "planner/calibration.h"
#include "planner/catalog.h"
#include "planner/explain.h"
#include "planner/gguf_model.h"
#include "planner/model_presets.h"
#include "planner/planner.h"
#include "planner/report.h"

namespace tenbin::cli {
namespace {

struct PlanCliOptions {
  std::string model;
  std::string workload;
  int64_t concurrency = 1;
  int64_t input_len = 512;
  int64_t output_len = 200;
  int64_t batch = 1;
  int64_t image_size = 640;
  std::string slo;
  std::vector<std::string> quants;
  std::vector<std::string> gpus;
  std::optional<double> max_power_w;
  std::optional<double> max_budget_usd;
  std::optional<double> max_price_hour;
  int max_gpus = 8;
  bool input_len_given = false;  // encoders default to 128 tokens otherwise
  bool json = false;
  bool all = false;
  std::string html;
  std::vector<std::string> catalogs;
  std::string calibration;
  bool no_calibration = false;
  std::vector<std::string> calibrate;
  bool shared_factors = false;
  std::string device = "cpu-2vcpu";
  std::string save;
  // explain
  std::string gpu;
  std::string quant;
  int tp = 1;
  int replicas = 1;
};

int fail(const Status& s) {
  std::fprintf(stderr, "error: %s\n", s.message().c_str());
  return 1;
}

Expected<planner::ModelSpec> resolve_model(const std::string& name) {
  if (name.empty()) return Status::Error("--model is required (a preset name or a .gguf file)");
  const bool is_file = std::filesystem::exists(name) ||
                       (name.size() > 5 && name.compare(name.size() - 5, 5, ".gguf") == 0);
  if (is_file) return planner::model_spec_from_gguf_path(name);
  if (auto preset = planner::find_model_preset(name)) return *preset;
  std::string names;
  for (const std::string& n : planner::model_preset_names())
    names += (names.empty() ? "" : ", ") + n;
  return Status::Errorf("--model: '{}' is neither a file nor a preset ({})", name, names);
}

// The catalog with --catalog files merged and the calibration (explicit or saved) applied;
// `label` says where the efficiency factors came from.
Expected<planner::Catalog> prepare_catalog(const PlanCliOptions& o, std::string& label) {
  auto catalog = planner::load_catalog(o.catalogs);
  if (!catalog.ok()) return catalog.status();
  std::string path = o.calibration;
  if (path.empty() && !o.no_calibration) {
    const std::string def =
        planner::default_calibration_path(std::getenv("XDG_CONFIG_HOME"), std::getenv("HOME"));
    if (!def.empty() && std::filesystem::exists(def)) path = def;
  }
  label = "catalog defaults (uncalibrated GPU factors; measured CPU entry)";
  if (!path.empty()) {
    auto cal = planner::load_calibration(path);
    if (!cal.ok()) return cal.status();
    TENBIN_RETURN_IF_ERROR(planner::apply_calibration(*catalog, *cal));
    label = fmt::format("calibration {} for {} (fit rms error {:.1f}%, {})", path, cal->device,
                        100 * cal->rms_error, cal->created);
  }
  return catalog;
}

Expected<planner::PlanRequest> make_request(const PlanCliOptions& o) {
  planner::PlanRequest r;
  auto model = resolve_model(o.model);
  if (!model.ok()) return model.status();
  r.model = std::move(*model);
  planner::Workload& w = r.workload;
  w.kind = o.workload;
  if (w.kind.empty()) {
    w.kind = r.model.kind == planner::ModelKind::kDecoder   ? "chat"
             : r.model.kind == planner::ModelKind::kEncoder ? "embed"
                                                            : "detect";
  }
  w.concurrency = o.concurrency;
  w.input_len = o.input_len;
  w.output_len = o.output_len;
  w.batch = o.batch;
  w.image_size = o.image_size;
  if (r.model.kind == planner::ModelKind::kEncoder && !o.input_len_given) w.input_len = 128;
  TENBIN_RETURN_IF_ERROR(planner::validate_workload(w, planner::model_kind_name(r.model.kind)));
  auto slo = planner::parse_slo(o.slo);
  if (!slo.ok()) return slo.status();
  r.slo = *slo;
  r.constraints.devices = o.gpus;
  r.constraints.quants = o.quants;
  for (std::string& q : r.constraints.quants) {
    if (q == "file" || q == "native") q.clear();
  }
  r.constraints.max_power_w = o.max_power_w;
  r.constraints.max_budget_usd = o.max_budget_usd;
  r.constraints.max_price_hour = o.max_price_hour;
  r.constraints.max_devices = o.max_gpus;
  return r;
}

int run_calibrate(const PlanCliOptions& o) {
  auto catalog = planner::load_catalog(o.catalogs);
  if (!catalog.ok()) return fail(catalog.status());
  std::vector<planner::CalibrationInput> inputs;
  for (const std::string& path : o.calibrate) {
    std::ifstream in(path);
    if (!in) return fail(Status::Errorf("--calibrate: cannot read {}", path));
    std::stringstream buf;
    buf << in.rdbuf();
    nlohmann::json doc = nlohmann::json::parse(buf.str(), nullptr, false);
    if (doc.is_discarded()) return fail(Status::Errorf("--calibrate: {} is not JSON", path));
    inputs.push_back({std::filesystem::path(path).filename().string(), std::move(doc)});
  }
  std::optional<planner::ModelSpec> model;
  if (!o.model.empty()) {
    auto m = resolve_model(o.model);
    if (!m.ok()) return fail(m.status());
    model = std::move(*m);
  }
  auto cal = planner::calibrate(inputs, *catalog, o.device, model, {.per_type = !o.shared_factors});
  if (!cal.ok()) return fail(cal.status());
  std::string path = o.save;
  if (path.empty()) {
    path = planner::default_calibration_path(std::getenv("XDG_CONFIG_HOME"), std::getenv("HOME"));
  }
  if (path.empty()) return fail(Status::Error("--save: no path and no HOME to default to"));
  if (Status s = planner::save_calibration(*cal, path); !s.ok()) return fail(s);
  if (o.json) {
    nlohmann::json j = planner::calibration_to_json(*cal);
    j["saved_to"] = path;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  const planner::Efficiency& e = cal->efficiency;
  std::printf("calibrated %s from %zu file(s)\n", cal->device.c_str(), cal->inputs.size());
  if (cal->bandwidth_gbs) {
    std::printf("  measured limits: %.1f GB/s read, %.0f GFLOP/s f32, %.0f GOP/s int8\n",
                *cal->bandwidth_gbs, *cal->fp32_tflops * 1000, *cal->int8_tops * 1000);
  }
  std::printf("  efficiency: bandwidth %.3f, compute %.3f", e.bandwidth, e.compute);
  if (e.compute_int8) std::printf(", compute (int8) %.3f", *e.compute_int8);
  std::printf(", step overhead %.2f ms\n", e.step_overhead_ms);
  if (!e.per_type.empty()) {
    std::string types;
    for (const auto& [type, f] : e.per_type) {
      types += fmt::format("{}{} {:.3f}/{:.3f}", types.empty() ? "" : ", ", type, f.bandwidth,
                           f.compute);
    }
    std::printf("  kernel multipliers per weight type (bandwidth/compute): %s\n", types.c_str());
  }
  for (const std::string& note : cal->notes) std::printf("  note: %s\n", note.c_str());
  std::printf("  fit: rms error %.1f%%, max %.1f%% over %zu points\n", 100 * cal->rms_error,
              100 * cal->max_error, cal->points.size());
  for (const planner::CalibrationPoint& p : cal->points) {
    std::printf("    %-60s measured %10.2f  predicted %10.2f  (%+.1f%%)\n", p.label.c_str(),
                p.measured, p.predicted, 100 * p.error());
  }
  std::printf("saved to %s (used by later `tenbin plan` runs; --calibration F picks another)\n",
              path.c_str());
  return 0;
}

int run_plan_command(const PlanCliOptions& o, bool explain) {
  if (!o.calibrate.empty()) return run_calibrate(o);
  auto request = make_request(o);
  if (!request.ok()) return fail(request.status());
  std::string label;
  auto catalog = prepare_catalog(o, label);
  if (!catalog.ok()) return fail(catalog.status());
  if (explain) {
    if (o.gpu.empty()) return fail(Status::Error("plan explain: --gpu is required"));
    const planner::Device* d = catalog->find(o.gpu);
    if (d == nullptr) return fail(Status::Errorf("--gpu: no '{}' in the catalog", o.gpu));
    std::string quant = o.quant;
    if (quant.empty() && request->model.file_quant.empty()) quant = "f16";
    if (quant == "file") quant.clear();
    const planner::PlanConfig c =
        planner::evaluate_config(*request, *catalog, *d, quant, o.tp, o.replicas);
    std::printf("%s", planner::explain_config(*request, *catalog, c).c_str());
    return 0;
  }
  auto result = planner::run_plan(*request, *catalog);
  if (!result.ok()) return fail(result.status());
  planner::ReportOptions ro;
  ro.all = o.all;
  ro.calibration = label;
  if (!o.html.empty()) {
    std::ofstream out(o.html);
    out << planner::plan_to_html(*request, *result, ro);
    if (!out) return fail(Status::Errorf("--html: cannot write {}", o.html));
  }
  if (o.json) {
    std::printf("%s\n", planner::plan_to_json(*request, *result, ro).dump(2).c_str());
  } else {
    std::printf("%s", planner::plan_to_text(*request, *result, ro).c_str());
    if (!o.html.empty()) std::printf("chart written to %s\n", o.html.c_str());
  }
  return 0;
}

void add_plan_options(CLI::App* cmd, PlanCliOptions& o) {
  cmd->add_option("-m,--model", o.model,
                  "Model preset (llama-2-7b, bert-base, yolov5s, ...) or a "
                  "GGUF file");
  cmd->add_option("--workload", o.workload, "chat, completion, embed or detect (default by model)");
  cmd->add_option("-c,--concurrency", o.concurrency, "Requests in flight")->capture_default_str();
  cmd->add_option("--input-len", o.input_len, "Prompt tokens (encoders: tokens, default 128)")
      ->capture_default_str()
      ->each([&o](const std::string&) { o.input_len_given = true; });
  cmd->add_option("--output-len", o.output_len, "Generated tokens")->capture_default_str();
  cmd->add_option("--batch", o.batch, "Encoders/vision: requests per forward pass")
      ->capture_default_str();
  cmd->add_option("--image-size", o.image_size, "Vision: image side in pixels")
      ->capture_default_str();
  cmd->add_option("--slo", o.slo, "Objectives, e.g. ttft_p99=500ms,tpot=50ms or p99=100ms");
  cmd->add_option("--catalog", o.catalogs, "Extra catalog YAML files (add/override by id)");
  cmd->add_option("--calibration", o.calibration, "Calibration file to apply");
  cmd->add_flag("--no-calibration", o.no_calibration, "Ignore the saved calibration");
}

}  // namespace

Action register_plan(CLI::App& app) {
  auto o = std::make_shared<PlanCliOptions>();
  CLI::App* cmd = app.add_subcommand("plan", "Recommend GPU hardware for a model and workload");
  add_plan_options(cmd, *o);
  cmd->add_option("--quant", o->quants,
                  "Quantizations to consider (f16,q8_0,q4_k_m,q4_0,...; "
                  "'file' = the GGUF as stored)")
      ->delimiter(',');
  cmd->add_option("--gpus", o->gpus, "Devices to consider (catalog ids; default all GPUs)")
      ->delimiter(',');
  cmd->add_option("--max-power-w", o->max_power_w, "Power limit of all GPUs (TDP)");
  auto* budget =
      cmd->add_option("--max-budget-usd", o->max_budget_usd, "Purchase budget for the GPUs");
  auto* hourly = cmd->add_option("--max-price-hour", o->max_price_hour, "Hourly price limit (USD)");
  budget->excludes(hourly);
  cmd->add_option("--max-gpus", o->max_gpus, "GPUs per configuration at most")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_flag("--json", o->json, "Print JSON");
  cmd->add_flag("--all", o->all, "Show every configuration in the table");
  cmd->add_option("--html", o->html, "Write a self-contained HTML chart to this file");
  cmd->add_option("--calibrate", o->calibrate, "Fit efficiency factors to tenbin perf/bench JSON");
  cmd->add_flag("--shared-factors", o->shared_factors,
                "Calibrate one set of factors for every weight type (default: per type when the "
                "files measure several)");
  cmd->add_option("--device", o->device, "Catalog id the calibration is for")
      ->capture_default_str();
  cmd->add_option("--save", o->save,
                  "Where to save the calibration (default "
                  "~/.config/tenbin/calibration.json)");

  CLI::App* explain = cmd->add_subcommand("explain", "Show the arithmetic of one configuration");
  add_plan_options(explain, *o);
  explain->add_option("--gpu", o->gpu, "Catalog id")->required();
  explain->add_option("--quant", o->quant, "Quantization (default f16, or the file's)");
  explain->add_option("--tp", o->tp, "Tensor-parallel degree")->capture_default_str();
  explain->add_option("--replicas", o->replicas, "Replicas")->capture_default_str();
  return [o, explain] { return run_plan_command(*o, explain->parsed()); };
}

}  // namespace tenbin::cli
