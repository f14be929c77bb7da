// Parses an HTTP request body that must hold one JSON object. Failures are RequestErrors:
// malformed JSON names the byte offset; an invalid string (bad UTF-8, lone surrogate escape,
// raw control character) also names the JSON path of the field holding it in `param`.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "server/openai/request_error.h"

namespace tenbin::server::openai {

ParseResult<nlohmann::json> parse_json_body(std::string_view body);

}  // namespace tenbin::server::openai
