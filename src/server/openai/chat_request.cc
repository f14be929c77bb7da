// Validation order: JSON -> shared fields -> messages -> chat-only fields -> fields we accept
// only in their neutral form (tools absent) -> unknown fields. response_format and the other
// output constraints: server/openai/output_constraint.h.
#include "server/openai/chat_request.h"

#include <limits>

#include <fmt/format.h>

#include "server/openai/json_body.h"
#include "server/openai/output_constraint.h"

namespace tenbin::server::openai {
namespace {

using json = nlohmann::json;

bool is_role(std::string_view role) {
  return role == "system" || role == "developer" || role == "user" || role == "assistant" ||
         role == "tool";
}

// Text of a content array: {"type":"text","text":...} parts joined with "\n".
std::optional<std::string> read_parts(const json& parts, const std::string& path,
                                      FieldReader& outer) {
  std::string text;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string at = fmt::format("{}[{}]", path, i);
    if (!parts[i].is_object()) {
      outer.fail(type_error_message(at, "an object", parts[i]), at, "invalid_type");
      return std::nullopt;
    }
    FieldReader part(parts[i], at);
    const json* type = part.required("type");
    auto kind = part.string("type");
    if (type && kind && *kind != "text") {
      part.fail(fmt::format("Invalid value for '{}.type': content parts of type '{}' are not "
                            "supported; only 'text'.",
                            at, *kind),
                at + ".type", "unsupported_parameter");
    }
    std::optional<std::string> piece;
    if (part.required("text")) piece = part.string("text");
    if (auto e = part.finish()) {
      outer.fail(std::move(*e));
      return std::nullopt;
    }
    if (i > 0) text += '\n';
    text += *piece;
  }
  return text;
}

std::optional<ChatMessage> read_message(const json& value, const std::string& path,
                                        FieldReader& outer) {
  if (!value.is_object()) {
    outer.fail(type_error_message(path, "an object", value), path, "invalid_type");
    return std::nullopt;
  }
  FieldReader r(value, path);
  ChatMessage message;
  if (r.required("role")) message.role = r.string("role").value_or("");
  if (!r.failed() && !is_role(message.role)) {
    r.fail(fmt::format("Invalid value for '{}.role': '{}' is not one of 'system', 'developer', "
                       "'user', 'assistant', 'tool'.",
                       path, message.role),
           r.path_of("role"));
  }
  if (message.role == "developer") message.role = "system";
  const json* tool_calls = r.raw("tool_calls");
  if (tool_calls && !(tool_calls->is_array() && tool_calls->empty())) {
    r.fail("Tool calls are not supported by this server.", r.path_of("tool_calls"),
           "unsupported_parameter");
  }
  r.string("name");          // accepted; templates here take role and content only
  r.string("tool_call_id");  // accepted for role 'tool'
  r.string("refusal");
  const json* content = r.raw("content");
  const std::string content_path = r.path_of("content");
  if (!content) {
    // Only an assistant turn may omit its content (OpenAI allows it next to tool_calls).
    if (message.role != "assistant") r.required("content");
  } else if (content->is_string()) {
    if (auto text = r.string("content")) message.content = std::move(*text);
  } else if (content->is_array()) {
    if (auto text = read_parts(*content, content_path, r)) message.content = std::move(*text);
  } else {
    r.fail(type_error_message(content_path, "a string or an array of content parts", *content),
           content_path, "invalid_type");
  }
  if (auto e = r.finish()) {
    outer.fail(std::move(*e));
    return std::nullopt;
  }
  return message;
}

void read_messages(FieldReader& reader, ChatRequest& request) {
  const json* messages = reader.required("messages");
  if (!messages) return;
  const std::string path = reader.path_of("messages");
  if (!messages->is_array()) {
    return reader.fail(type_error_message(path, "an array", *messages), path, "invalid_type");
  }
  if (messages->empty()) {
    return reader.fail("Invalid value for 'messages': the list of messages is empty.", path);
  }
  for (size_t i = 0; i < messages->size(); ++i) {
    auto m = read_message((*messages)[i], fmt::format("{}[{}]", path, i), reader);
    if (!m) return;
    request.messages.push_back(std::move(*m));
  }
}

// Fields accepted in their neutral form only.
void read_neutral_fields(FieldReader& reader) {
  if (const json* tools = reader.raw("tools"); tools && !(tools->is_array() && tools->empty())) {
    reader.fail("Tools are not supported by this server.", "tools", "unsupported_parameter");
  }
  if (const json* functions = reader.raw("functions");
      functions && !(functions->is_array() && functions->empty())) {
    reader.fail("Functions are not supported by this server.", "functions",
                "unsupported_parameter");
  }
  if (const json* choice = reader.raw("tool_choice");
      choice && !(choice->is_string() && (*choice == "none" || *choice == "auto"))) {
    reader.fail("Invalid value for 'tool_choice': without tools only 'none' or 'auto'.",
                "tool_choice", "unsupported_parameter");
  }
  if (const json* call = reader.raw("function_call");
      call && !(call->is_string() && (*call == "none" || *call == "auto"))) {
    reader.fail("Invalid value for 'function_call': without functions only 'none' or 'auto'.",
                "function_call", "unsupported_parameter");
  }
  reader.boolean("parallel_tool_calls");
  if (const json* modalities = reader.raw("modalities");
      modalities && *modalities != json::array({"text"})) {
    reader.fail("Invalid value for 'modalities': only [\"text\"] is supported.", "modalities",
                "unsupported_parameter");
  }
  for (const char* key : {"audio", "prediction", "reasoning_effort", "web_search_options"}) {
    if (reader.raw(key)) {
      reader.fail(fmt::format("'{}' is not supported by this server.", key), key,
                  "unsupported_parameter");
    }
  }
}

ParseResult<ChatRequest> parse(const json& body, std::string_view text) {
  FieldReader reader(body, "");
  ChatRequest request;
  request.params = read_generation_params(reader);
  read_output_constraint(reader, text, request.params);
  GenerationParams& p = request.params;
  read_messages(reader, request);
  constexpr int64_t kMaxTokens = std::numeric_limits<int32_t>::max();
  const auto max_tokens = reader.integer("max_tokens", 1, kMaxTokens);
  const auto max_completion_tokens = reader.integer("max_completion_tokens", 1, kMaxTokens);
  if (max_completion_tokens) {
    p.max_tokens = static_cast<int32_t>(*max_completion_tokens);
  } else if (max_tokens) {
    p.max_tokens = static_cast<int32_t>(*max_tokens);
  }
  p.logprobs = reader.boolean("logprobs").value_or(false);
  if (auto top = reader.integer("top_logprobs", 0, kMaxChatTopLogprobs)) {
    if (!p.logprobs) {
      reader.fail(
          "Invalid value for 'top_logprobs': 'logprobs' must be true when "
          "'top_logprobs' is given.",
          "top_logprobs");
    }
    p.top_logprobs = static_cast<int>(*top);
  }
  read_neutral_fields(reader);
  if (auto e = reader.finish()) return *e;
  return request;
}

}  // namespace

ParseResult<ChatRequest> parse_chat_request(std::string_view body) {
  auto parsed = parse_json_body(body);
  if (!parsed.ok()) return parsed.error();
  try {
    return parse(*parsed, body);
  } catch (const std::exception& e) {  // a bug in a type check; never let it escape
    return RequestError{fmt::format("Invalid request: {}", e.what()), "", "invalid_value"};
  }
}

}  // namespace tenbin::server::openai
