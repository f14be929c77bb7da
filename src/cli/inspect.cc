// Placeholder until the subcommand lands.
#include <cstdio>

#include "cli/commands.h"

namespace tenbin::cli {

Action register_inspect(CLI::App& app) {
  app.add_subcommand("inspect", "(not yet available)");
  return [] {
    std::fprintf(stderr, "tenbin inspect: not yet available\n");
    return 1;
  };
}

}  // namespace tenbin::cli
