// Placeholder until the subcommand lands.
#include <cstdio>

#include "cli/commands.h"

namespace tenbin::cli {

Action register_quantize(CLI::App& app) {
  app.add_subcommand("quantize", "(not yet available)");
  return [] {
    std::fprintf(stderr, "tenbin quantize: not yet available\n");
    return 1;
  };
}

}  // namespace tenbin::cli
