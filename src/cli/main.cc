// Entry point of the `tenbin` binary: parses the command line and runs one subcommand.
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Tenbin: serve, benchmark and plan LLM inference"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("tenbin 0.1.0"));

  std::vector<std::pair<CLI::App*, tenbin::cli::Action>> commands;
  auto add = [&](tenbin::cli::Action (*reg)(CLI::App&)) {
    size_t before = app.get_subcommands({}).size();
    tenbin::cli::Action action = reg(app);
    commands.emplace_back(app.get_subcommands({})[before], std::move(action));
  };
  add(tenbin::cli::register_run);
  add(tenbin::cli::register_inspect);
  add(tenbin::cli::register_quantize);
  add(tenbin::cli::register_synth);
  add(tenbin::cli::register_perf);
  add(tenbin::cli::register_serve);
  add(tenbin::cli::register_plan);
  add(tenbin::cli::register_bench);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  for (auto& [sub, action] : commands) {
    if (sub->parsed()) return action();
  }
  return 1;
}
