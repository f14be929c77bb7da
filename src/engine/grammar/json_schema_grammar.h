// JSON Schema -> GBNF (engine/grammar/grammar.h), for OpenAI's structured outputs
// (response_format json_schema) and json_object mode. The sentences of the grammar are JSON
// texts valid against the schema, written compactly or pretty-printed (a space, or a newline
// and up to 20 spaces or tabs, between tokens; leading whitespace allowed).
//
// Supported, as OpenAI's strict mode and pydantic/zod exports use them: type (one or a list),
// properties (emitted in the declared order), required, additionalProperties (false, true or a
// schema; absent means false, as strict mode requires), items, minItems, maxItems, enum, const,
// anyOf, oneOf (as anyOf), allOf of one schema, $ref to #, #/$defs/... or #/definitions/...
// (recursion allowed), minLength and maxLength, format date, time, date-time and uuid, integer
// minimum/maximum/exclusiveMinimum/exclusiveMaximum, number minimum 0. Annotations (title,
// description, default, examples, ...) are ignored. Anything else is an error naming the
// keyword and where it is, never silently dropped.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "util/status.h"

namespace tenbin::grammar {

// An ordered_json, so that properties keep the order the schema declares them in.
Expected<std::string> json_schema_to_gbnf(const nlohmann::ordered_json& schema);

// Any JSON object (response_format {"type": "json_object"}).
std::string json_object_gbnf();

}  // namespace tenbin::grammar
