// `tenbin perf`: the engine's throughput benchmark. Measures the machine's limits (memory read
// bandwidth, peak arithmetic) and then prompt processing and generation speed of a model, and
// prints each figure as a fraction of its limit; --json for machines.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/kv_type_option.h"
#include "engine/perf_runner.h"
#include "model/loaded_model.h"

namespace tenbin::cli {
namespace {

struct PerfCliOptions {
  std::string model_path;
  std::string threads = "0";
  std::string device = "cpu";
  std::string kv_type = "f16";
  PerfOptions perf;
  bool json = false;
};

Expected<std::vector<int>> parse_threads(const std::string& list) {
  std::vector<int> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      int t = std::stoi(item);
      if (t < 0 || t > 1024) throw std::out_of_range("threads");
      out.push_back(t == 0 ? static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))
                           : t);
    } catch (const std::exception&) {
      return Status::Errorf("--threads: '{}' is not a thread count", item);
    }
  }
  if (out.empty()) return Status::Error("--threads: empty list");
  return out;
}

// Op kinds by share of the measured time, largest first, then what no op accounts for
// (thread hand-offs, batch setup, the logits' host copy).
struct OpShare {
  std::string name;
  double share = 0;
  double ms_per_token = 0;
  double calls_per_token = 0;
};
std::vector<OpShare> op_shares(const PerfResult& r) {
  std::vector<OpShare> out;
  if (!r.profile || r.measured_seconds <= 0 || r.measured_tokens <= 0) return out;
  const double tokens = static_cast<double>(r.measured_tokens);
  for (int i = 0; i < backend::kNumOpKinds; ++i) {
    if (r.profile->calls[i] == 0) continue;
    out.push_back({std::string(backend::op_kind_name(static_cast<backend::OpKind>(i))),
                   r.profile->seconds[i] / r.measured_seconds, 1e3 * r.profile->seconds[i] / tokens,
                   r.profile->calls[i] / tokens});
  }
  std::sort(out.begin(), out.end(),
            [](const OpShare& a, const OpShare& b) { return a.share > b.share; });
  const double rest = r.measured_seconds - r.profile->total_seconds();
  out.push_back({"other", rest / r.measured_seconds, 1e3 * rest / tokens, 0});
  return out;
}

nlohmann::json to_json(const std::string& path, DType kv_type, const LoadedModel& m,
                       const kernels::MachineLimits& limits,
                       const std::vector<PerfResult>& results) {
  const ModelConfig& c = m.model->config();
  const DType type = m.model->layers_weight_type();
  nlohmann::json j;
  j["model"] = path;
  j["model_name"] = c.name;
  j["arch"] = c.arch;
  j["type"] = std::string(dtype_name(type));
  j["threads"] = limits.threads;
  j["kv_type"] = std::string(dtype_name(kv_type));
  j["isa"] = limits.isa;
  j["weight_bytes"] = m.model->weight_bytes();
  j["device"] = m.model->backend().name();
  if (limits.peak_matmul_gflops > 0) {
    j["limits"] = {{"mem_read_gbs", limits.mem_read_gbs},
                   {"peak_gflops", limits.peak_matmul_gflops},
                   {"peak_matmul_gflops", limits.peak_matmul_gflops},
                   {"peak_matmul_kind", limits.peak_matmul_kind}};
  } else {
    j["limits"] = {{"mem_read_gbs", limits.mem_read_gbs},
                   {"peak_gflops", prefill_peak(limits, type).value},
                   {"peak_f32_gflops", limits.peak_f32_gflops},
                   {"peak_int8_gops", limits.peak_int8_gops}};
    if (limits.peak_bf16_gflops > 0) j["limits"]["peak_bf16_gflops"] = limits.peak_bf16_gflops;
  }
  j["results"] = nlohmann::json::array();
  for (const PerfResult& r : results) {
    j["results"].push_back({{"test", r.test},
                            {"depth", r.depth},
                            {"tokens_per_s", r.tokens_per_s},
                            {"tokens_per_s_min", r.tokens_per_s_min},
                            {"tokens_per_s_max", r.tokens_per_s_max},
                            {"bytes_per_token", r.bytes_per_token},
                            {"flops_per_token", r.flops_per_token},
                            {"executed_flops_per_token", r.executed_flops_per_token},
                            {"limit", r.limit},
                            {"fraction_of_limit", r.fraction_of_limit}});
    const std::vector<OpShare> shares = op_shares(r);
    if (!shares.empty()) {
      nlohmann::json ops = nlohmann::json::array();
      for (const OpShare& o : shares) {
        ops.push_back({{"op", o.name},
                       {"share", o.share},
                       {"ms_per_token", o.ms_per_token},
                       {"calls_per_token", o.calls_per_token}});
      }
      j["results"].back()["profile"] = ops;
    }
  }
  return j;
}

int run_perf_command(const PerfCliOptions& o) {
  auto threads = parse_threads(o.threads);
  if (!threads.ok()) {
    std::fprintf(stderr, "error: %s\n", threads.status().message().c_str());
    return 1;
  }
  auto loaded = load_model_on_device(o.model_path, o.device);
  if (!loaded.ok()) {
    std::fprintf(stderr, "error: %s\n", loaded.status().message().c_str());
    return 1;
  }
  backend::Backend& backend = loaded->model->backend();
  nlohmann::json all = nlohmann::json::array();
  for (int t : *threads) {
    ThreadPool pool(t);
    kernels::MachineLimits limits;
    if (backend.host_memory()) {
      limits = kernels::measure_machine_limits(pool);
    } else {
      // A GPU: its own probes (memory read, peak of the matrix instructions prefill uses).
      Expected<backend::DeviceLimits> device = backend.measure_limits();
      if (!device.ok()) {
        std::fprintf(stderr, "error: %s\n", device.status().message().c_str());
        return 1;
      }
      limits.isa = backend.description();
      limits.threads = t;
      limits.mem_read_gbs = device->mem_read_gbs;
      limits.peak_matmul_gflops = device->peak_matmul_gflops;
      limits.peak_matmul_kind = device->matmul_kind;
    }
    // On the CPU the memory probe is taken again after every decode repetition (the largest
    // reading counts): this machine class's bandwidth drifts over seconds.
    // Its buffer is made at the first re-probe and kept, not faulted in again each time.
    std::function<double()> reprobe;
    std::unique_ptr<kernels::MemoryReadProbe> probe;
    if (backend.host_memory()) {
      reprobe = [&pool, &probe] {
        if (!probe) probe = std::make_unique<kernels::MemoryReadProbe>(pool);
        return probe->measure(4);
      };
    }
    PerfOptions perf = o.perf;
    perf.kv_type = kv_type_from_option(o.kv_type);
    auto results = run_perf(*loaded->model, pool, limits, perf, reprobe);
    if (!results.ok()) {
      std::fprintf(stderr, "error: %s\n", results.status().message().c_str());
      return 1;
    }
    nlohmann::json j = to_json(o.model_path, perf.kv_type, *loaded, limits, *results);
    if (!o.json) {
      if (limits.peak_matmul_gflops > 0) {
        std::printf("%s  %s  kv %s  %s  mem read %.1f GB/s  peak %s %.0f GFLOP/s\n",
                    loaded->model->config().name.c_str(), j["type"].get<std::string>().c_str(),
                    o.kv_type.c_str(), limits.isa.c_str(), limits.mem_read_gbs,
                    limits.peak_matmul_kind.c_str(), limits.peak_matmul_gflops);
      } else {
        std::printf(
            "%s  %s  kv %s  %d threads  %s  mem read %.1f GB/s  peak f32 %.0f GFLOP/s  int8 "
            "%.0f GOP/s  bf16 %.0f GFLOP/s\n",
            loaded->model->config().name.c_str(), j["type"].get<std::string>().c_str(),
            o.kv_type.c_str(), t, limits.isa.c_str(), limits.mem_read_gbs, limits.peak_f32_gflops,
            limits.peak_int8_gops, limits.peak_bf16_gflops);
      }
      for (const PerfResult& r : *results) {
        const std::string name = r.depth > 0 ? r.test + " @ d" + std::to_string(r.depth) : r.test;
        std::printf(
            "  %-6s %10.2f tok/s  (min %.2f, max %.2f)  %12.0f bytes/token  %5.1f%% of %s\n",
            name.c_str(), r.tokens_per_s, r.tokens_per_s_min, r.tokens_per_s_max, r.bytes_per_token,
            100.0 * r.fraction_of_limit, r.limit.c_str());
        const std::vector<OpShare> shares = op_shares(r);
        if (!shares.empty()) {
          std::string line = "         ";
          for (const OpShare& o : shares) {
            if (o.share >= 0.0005) line += fmt::format(" {} {:.1f}%", o.name, 100 * o.share);
          }
          std::printf("%s\n", line.c_str());
        }
      }
      std::fflush(stdout);
    }
    all.push_back(j);
  }
  if (o.json) std::printf("%s\n", (all.size() == 1 ? all[0] : all).dump(2).c_str());
  return 0;
}

}  // namespace

Action register_perf(CLI::App& app) {
  auto o = std::make_shared<PerfCliOptions>();
  CLI::App* cmd = app.add_subcommand("perf", "Benchmark prompt processing and generation speed");
  cmd->add_option("-m,--model", o->model_path, "GGUF model file")->required();
  cmd->add_option("-t,--threads", o->threads, "Thread counts, comma separated (0 = all cores)")
      ->capture_default_str();
  cmd->add_option("-p,--n-prompt", o->perf.prompt_tokens, "Prompt tokens (pp test; 0 = skip)")
      ->capture_default_str();
  cmd->add_option("-n,--n-gen", o->perf.generate_tokens, "Generated tokens (tg test; 0 = skip)")
      ->capture_default_str();
  cmd->add_option("-d,--n-depth", o->perf.depth,
                  "Tokens already in the KV cache when each test starts (prefilled, not timed)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("-r,--repetitions", o->perf.repetitions, "Runs of each test (median)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_flag("--profile", o->perf.profile,
                "Time every op of the measured runs and print each kind's share");
  add_device_option(cmd, &o->device);
  add_kv_type_option(cmd, &o->kv_type);
  cmd->add_flag("--json", o->json, "Print JSON");
  return [o] { return run_perf_command(*o); };
}

}  // namespace tenbin::cli
