#include "bench/request_body.h"

#include <nlohmann/json.hpp>

namespace tenbin::bench {

std::string request_body(const BenchConfig& config, const BenchPrompt& prompt) {
  nlohmann::json body;
  body["model"] = config.model;
  if (config.endpoint == Endpoint::kChat) {
    body["messages"] = prompt.messages.is_array()
                           ? prompt.messages
                           : nlohmann::json::array({{{"role", "user"}, {"content", prompt.text}}});
  } else {
    body["prompt"] = prompt.text;
  }
  body["max_tokens"] = prompt.output_tokens;
  body["temperature"] = config.sampling.temperature;
  if (config.sampling.top_p) body["top_p"] = *config.sampling.top_p;
  if (config.sampling.top_k) body["top_k"] = *config.sampling.top_k;
  if (config.sampling.min_p) body["min_p"] = *config.sampling.min_p;
  if (const auto& n = config.sampling.logprobs) {
    if (config.endpoint == Endpoint::kChat) {
      body["logprobs"] = true;
      body["top_logprobs"] = *n;
    } else {
      body["logprobs"] = *n;
    }
  }
  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}};
  if (config.ignore_eos) body["ignore_eos"] = true;
  return body.dump();
}

}  // namespace tenbin::bench
