// Validation order: JSON -> shared fields -> prompt -> completion-only fields -> unknown
// fields. The first problem found is reported.
#include "server/openai/completion_request.h"

#include <limits>

#include <fmt/format.h>

#include "server/openai/json_body.h"
#include "server/openai/output_constraint.h"

namespace tenbin::server::openai {
namespace {

using json = nlohmann::json;

constexpr std::string_view kPromptTypes =
    "a string, an array of strings, an array of token ids or an array of token-id arrays";

// `value` is an array of token ids at `path`.
std::optional<RequestError> read_tokens(const json& value, const std::string& path,
                                        std::vector<int32_t>& out) {
  if (value.empty()) {
    return RequestError{fmt::format("Invalid value for '{}': the prompt is empty.", path), path,
                        "invalid_value"};
  }
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string at = fmt::format("{}[{}]", path, i);
    const auto id = as_integer(value[i]);
    if (!id)
      return RequestError{type_error_message(at, "a token id", value[i]), at, "invalid_type"};
    if (*id < 0 || *id > std::numeric_limits<int32_t>::max()) {
      return RequestError{
          fmt::format("Invalid value for '{}': token id {} is out of range.", at, *id), at,
          "invalid_value"};
    }
    out.push_back(static_cast<int32_t>(*id));
  }
  return std::nullopt;
}

std::optional<RequestError> read_one(const json& value, const std::string& path,
                                     std::vector<CompletionPrompt>& prompts) {
  CompletionPrompt prompt;
  if (value.is_string()) {
    prompt.text = value.get<std::string>();
    if (auto e = check_utf8(prompt.text, path)) return e;
  } else if (value.is_array()) {
    prompt.is_tokens = true;
    if (auto e = read_tokens(value, path, prompt.tokens)) return e;
  } else {
    return RequestError{type_error_message(path, "a string or an array of token ids", value), path,
                        "invalid_type"};
  }
  prompts.push_back(std::move(prompt));
  return std::nullopt;
}

void read_prompt(FieldReader& reader, CompletionRequest& request) {
  const json* prompt = reader.required("prompt");
  if (!prompt) return;
  const std::string path = reader.path_of("prompt");
  if (prompt->is_string()) {
    if (auto e = read_one(*prompt, path, request.prompts)) reader.fail(std::move(*e));
    return;
  }
  if (!prompt->is_array()) {
    return reader.fail(type_error_message(path, kPromptTypes, *prompt), path, "invalid_type");
  }
  if (prompt->empty()) {
    return reader.fail(fmt::format("Invalid value for '{}': the prompt is empty.", path), path);
  }
  const json& first = (*prompt)[0];
  if (first.is_number()) {  // one prompt as token ids
    if (auto e = read_one(*prompt, path, request.prompts)) reader.fail(std::move(*e));
    return;
  }
  if (prompt->size() > static_cast<size_t>(kMaxBatchPrompts)) {
    return reader.fail(fmt::format("Invalid value for '{}': at most {} prompts per request, got "
                                   "{}.",
                                   path, kMaxBatchPrompts, prompt->size()),
                       path);
  }
  for (size_t i = 0; i < prompt->size(); ++i) {
    const std::string at = fmt::format("{}[{}]", path, i);
    if (auto e = read_one((*prompt)[i], at, request.prompts)) return reader.fail(std::move(*e));
  }
}

ParseResult<CompletionRequest> parse(const json& body, std::string_view text) {
  FieldReader reader(body, "");
  CompletionRequest request;
  request.params = read_generation_params(reader);
  read_output_constraint(reader, text, request.params);
  GenerationParams& p = request.params;
  read_prompt(reader, request);
  request.echo = reader.boolean("echo").value_or(false);
  p.max_tokens =
      static_cast<int32_t>(reader.integer("max_tokens", 0, std::numeric_limits<int32_t>::max())
                               .value_or(kDefaultCompletionMaxTokens));
  if (!reader.failed() && *p.max_tokens == 0 && !request.echo) {
    reader.fail("Invalid value for 'max_tokens': 0 is only allowed with 'echo' true.",
                "max_tokens");
  }
  if (auto v = reader.integer("logprobs", 0, kMaxCompletionLogprobs)) {
    p.logprobs = true;
    p.top_logprobs = static_cast<int>(*v);
  }
  if (auto best_of = reader.integer("best_of", 1, kMaxChoices); best_of && *best_of != p.n) {
    reader.fail("Invalid value for 'best_of': only best_of equal to n is supported.", "best_of",
                "unsupported_parameter");
  }
  if (auto suffix = reader.string("suffix"); suffix && !suffix->empty()) {
    reader.fail("'suffix' is not supported by this server.", "suffix", "unsupported_parameter");
  }
  if (!reader.failed() &&
      static_cast<int>(request.prompts.size()) * p.n > kMaxSequencesPerRequest) {
    reader.fail(fmt::format("Invalid value for 'n': {} prompts x n={} exceeds {} sequences per "
                            "request.",
                            request.prompts.size(), p.n, kMaxSequencesPerRequest),
                "n");
  }
  if (auto e = reader.finish()) return *e;
  return request;
}

}  // namespace

ParseResult<CompletionRequest> parse_completion_request(std::string_view body) {
  auto parsed = parse_json_body(body);
  if (!parsed.ok()) return parsed.error();
  try {
    return parse(*parsed, body);
  } catch (const std::exception& e) {  // a bug in a type check; never let it escape
    return RequestError{fmt::format("Invalid request: {}", e.what()), "", "invalid_value"};
  }
}

}  // namespace tenbin::server::openai
