// Turns chat-template source into a statement tree (ast.h): text, {{ output }}, if/elif/else,
// for (with loop filter and else), set (plain, namespace attribute, block), macro,
// break/continue, and generation blocks. Tags outside this subset ({% call %}, {% filter %},
// {% include %}, ...) are refused with their line:col, as are unclosed or stray tags.
#pragma once

#include <string_view>

#include "model/chat_template/ast.h"

namespace tenbin::jinja {

// Throws TemplateError on any syntax error.
Body parse_template(std::string_view source);

}  // namespace tenbin::jinja
