// Placeholder until the subcommand lands.
#include <cstdio>

#include "cli/commands.h"

namespace tenbin::cli {

Action register_synth(CLI::App& app) {
  app.add_subcommand("synth", "(not yet available)");
  return [] {
    std::fprintf(stderr, "tenbin synth: not yet available\n");
    return 1;
  };
}

}  // namespace tenbin::cli
