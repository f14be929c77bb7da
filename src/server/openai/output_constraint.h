// The request fields that constrain the form of the output, compiled to a grammar
// (engine/grammar): OpenAI's response_format ({"type": "text" | "json_object" |
// "json_schema", "json_schema": {"name", "schema", "strict", "description"}}), llama.cpp's
// `grammar` (GBNF text) and `json_schema`, and vLLM's guided_json, guided_grammar and
// guided_choice. At most one may be given. A schema or grammar that does not compile is a 400
// naming the field and the reason.
#pragma once

#include <string_view>

#include "server/openai/field_reader.h"
#include "server/openai/generation_params.h"

namespace tenbin::server::openai {

// `body` is the request's JSON text: schemas are read from it again in document order, because
// the order of a schema's properties is the order the output writes them in.
void read_output_constraint(FieldReader& reader, std::string_view body, GenerationParams& params);

}  // namespace tenbin::server::openai
