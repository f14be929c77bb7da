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
  body["temperature"] = 0.0;
  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}};
  if (config.ignore_eos) body["ignore_eos"] = true;
  return body.dump();
}

}  // namespace tenbin::bench
