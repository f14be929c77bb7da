// The `tenbin` subcommands. Each register_* function adds its subcommand and options to the
// CLI11 app and returns the action main() calls when that subcommand was chosen; the action
// returns the process exit code (0 ok, 1 bad input or failure).
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace tenbin::cli {

using Action = std::function<int()>;

Action register_run(CLI::App& app);
Action register_inspect(CLI::App& app);
Action register_quantize(CLI::App& app);
Action register_synth(CLI::App& app);
Action register_perf(CLI::App& app);
Action register_serve(CLI::App& app);
Action register_plan(CLI::App& app);
Action register_bench(CLI::App& app);

}  // namespace tenbin::cli
