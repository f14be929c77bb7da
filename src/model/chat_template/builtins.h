// The library a template can call: filters (`x | trim`), tests (`x is defined`), methods on
// strings, lists and maps (`s.strip()`, `d.items()`) and global functions (range, namespace,
// raise_exception, strftime_now, dict). Unknown names raise TemplateError naming the filter,
// test or function, so an unsupported template fails clearly instead of rendering wrongly.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "model/chat_template/ast.h"
#include "model/chat_template/limits.h"
#include "model/chat_template/value.h"

namespace tenbin::jinja {

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keywords;

  // Argument `index` or keyword `name`; nullptr when neither was passed.
  const Value* get(size_t index, std::string_view name) const;
};

Value apply_filter(const std::string& name, const Value& input, const CallArgs& args, Pos pos,
                   const ChatTemplateLimits& limits);
bool apply_test(const std::string& name, const Value& input, const std::vector<Value>& args,
                Pos pos);
Value call_method(const Value& object, const std::string& name, const CallArgs& args, Pos pos,
                  const ChatTemplateLimits& limits);
// `found` is set false (and none returned) when no global function has this name.
Value call_global(const std::string& name, const CallArgs& args, Pos pos,
                  const ChatTemplateLimits& limits, bool* found);

// JSON text as Python's json.dumps(ensure_ascii=False) writes it, which is what Hugging Face's
// tojson filter uses: ", " and ": " separators, or newlines and `indent` spaces when indent >= 0.
std::string to_json(const Value& v, int indent, Pos pos);

}  // namespace tenbin::jinja
