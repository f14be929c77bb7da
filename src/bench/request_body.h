// The JSON body of one benchmark request: streamed, with usage in the stream, max_tokens set
// to the wanted output length and ignore_eos so that the length is what was asked for.
// Greedy (temperature 0) so runs repeat.
#pragma once

#include <string>

#include "bench/bench_config.h"
#include "bench/dataset.h"

namespace tenbin::bench {

std::string request_body(const BenchConfig& config, const BenchPrompt& prompt);

}  // namespace tenbin::bench
