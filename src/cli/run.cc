// Placeholder until the subcommand lands.
#include <cstdio>

#include "cli/commands.h"

namespace tenbin::cli {

Action register_run(CLI::App& app) {
  app.add_subcommand("run", "(not yet available)");
  return [] {
    std::fprintf(stderr, "tenbin run: not yet available\n");
    return 1;
  };
}

}  // namespace tenbin::cli
