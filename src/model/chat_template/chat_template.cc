// Public face of the template engine: parse, render, and the TemplateError -> Status boundary.
#include "model/chat_template/chat_template.h"

#include <new>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "model/chat_template/evaluator.h"
#include "model/chat_template/parser.h"

namespace tenbin {
namespace {

using jinja::TemplateError;
using jinja::Value;

constexpr std::string_view kChatMl =
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

Status to_status(const TemplateError& e) {
  if (e.raised()) {
    return Status::Errorf("chat template raised an error at line {}:{}: {}", e.pos().line,
                          e.pos().col, e.what());
  }
  return Status::Errorf("chat template error at line {}:{}: {}", e.pos().line, e.pos().col,
                        e.what());
}

template <class Json>
Value from_json(const Json& j, int depth) {
  if (depth > 100) throw TemplateError(jinja::Pos{0, 0}, "input variables nested too deeply");
  if (j.is_null()) return Value::none();
  if (j.is_boolean()) return Value::boolean(j.template get<bool>());
  if (j.is_number_integer()) return Value::integer(j.template get<int64_t>());
  if (j.is_number()) return Value::number(j.template get<double>());
  if (j.is_string()) return Value::string(j.template get<std::string>());
  if (j.is_array()) {
    jinja::ValueList items;
    for (const auto& item : j) items.push_back(from_json(item, depth + 1));
    return Value::list(std::move(items));
  }
  jinja::ValueMap entries;
  for (auto it = j.begin(); it != j.end(); ++it) {
    entries.emplace_back(it.key(), from_json(it.value(), depth + 1));
  }
  return Value::map(std::move(entries));
}

Expected<std::string> run(const jinja::Body& program, const ChatTemplateLimits& limits,
                          std::map<std::string, Value> globals) {
  try {
    return jinja::Evaluator(limits, std::move(globals)).render(program);
  } catch (const TemplateError& e) {
    return to_status(e);
  } catch (const std::bad_alloc&) {
    return Status::Error("chat template: out of memory while rendering");
  } catch (const std::exception& e) {
    return Status::Errorf("chat template: internal error while rendering: {}", e.what());
  }
}

}  // namespace

Expected<ChatTemplate> ChatTemplate::parse(std::string_view source) {
  ChatTemplate t;
  try {
    t.program_ = std::make_shared<const jinja::Body>(jinja::parse_template(source));
  } catch (const TemplateError& e) {
    return to_status(e);
  } catch (const std::exception& e) {
    return Status::Errorf("chat template: internal error while parsing: {}", e.what());
  }
  t.source_ = std::make_shared<const std::string>(source);
  return t;
}

std::string_view ChatTemplate::chatml_source() {
  return kChatMl;
}

ChatTemplate ChatTemplate::chatml() {
  Expected<ChatTemplate> t = parse(kChatMl);
  assert(t.ok());
  return std::move(*t);
}

Expected<std::string> ChatTemplate::render(const ChatTemplateInputs& inputs) const {
  jinja::ValueList messages;
  for (const ChatMessage& m : inputs.messages) {
    messages.push_back(
        Value::map({{"role", Value::string(m.role)}, {"content", Value::string(m.content)}}));
  }
  std::map<std::string, Value> globals;
  for (const auto& [k, v] : inputs.extra) globals[k] = Value::string(v);
  globals["messages"] = Value::list(std::move(messages));
  globals["add_generation_prompt"] = Value::boolean(inputs.add_generation_prompt);
  globals["bos_token"] = Value::string(inputs.bos_token);
  globals["eos_token"] = Value::string(inputs.eos_token);
  return run(*program_, inputs.limits, std::move(globals));
}

template <class Json>
Expected<std::string> ChatTemplate::render_any_json(const Json& variables,
                                                    const ChatTemplateLimits& limits) const {
  if (!variables.is_object()) {
    return Status::Error("chat template variables must be a JSON object");
  }
  std::map<std::string, Value> globals;
  try {
    for (auto it = variables.begin(); it != variables.end(); ++it) {
      globals[it.key()] = from_json(it.value(), 0);
    }
  } catch (const TemplateError& e) {
    return Status::Errorf("chat template: {}", e.what());
  }
  return run(*program_, limits, std::move(globals));
}

Expected<std::string> ChatTemplate::render_json(const nlohmann::json& variables,
                                                const ChatTemplateLimits& limits) const {
  return render_any_json(variables, limits);
}

Expected<std::string> ChatTemplate::render_json(const nlohmann::ordered_json& variables,
                                                const ChatTemplateLimits& limits) const {
  return render_any_json(variables, limits);
}

}  // namespace tenbin
