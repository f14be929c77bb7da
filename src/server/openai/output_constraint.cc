#include "server/openai/output_constraint.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "engine/grammar/grammar.h"
#include "engine/grammar/grammar_matcher.h"
#include "engine/grammar/json_schema_grammar.h"

namespace tenbin::server::openai {
namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

// One constraint as GBNF text, with the field it came from (for errors).
struct Constraint {
  std::string field;
  std::string gbnf;
};

class ConstraintReader {
 public:
  ConstraintReader(FieldReader& reader, std::string_view body) : reader_(reader), body_(body) {}

  void read() {
    response_format();
    if (auto text = reader_.string("grammar")) add("grammar", *text);
    if (const json* schema = reader_.raw("json_schema")) {
      if (!schema->is_object() && !schema->is_boolean()) {
        return reader_.fail(type_error_message("json_schema", "an object", *schema), "json_schema",
                            "invalid_type");
      }
      from_schema("json_schema", ordered()["json_schema"]);
    }
    if (const json* schema = reader_.raw("guided_json")) {
      if (schema->is_string()) {
        const auto parsed = ordered_json::parse(schema->get<std::string>(), nullptr, false);
        if (parsed.is_discarded()) {
          return reader_.fail("Invalid value for 'guided_json': the string is not JSON.",
                              "guided_json");
        }
        from_schema("guided_json", parsed);
      } else if (schema->is_object()) {
        from_schema("guided_json", ordered()["guided_json"]);
      } else {
        return reader_.fail(type_error_message("guided_json", "an object or a string", *schema),
                            "guided_json", "invalid_type");
      }
    }
    if (auto text = reader_.string("guided_grammar")) add("guided_grammar", *text);
    guided_choice();
    if (reader_.raw("guided_regex")) {
      reader_.fail(
          "'guided_regex' is not supported by this server; use a grammar or a JSON schema.",
          "guided_regex", "unsupported_parameter");
    }
    if (reader_.raw("guided_whitespace_pattern")) {
      reader_.fail("'guided_whitespace_pattern' is not supported by this server.",
                   "guided_whitespace_pattern", "unsupported_parameter");
    }
    reader_.string("guided_decoding_backend");  // one backend here; the choice is accepted
  }

  std::vector<Constraint> constraints;

 private:
  const ordered_json& ordered() {
    if (!ordered_) ordered_ = ordered_json::parse(body_, nullptr, false);
    return *ordered_;
  }

  void add(const std::string& field, std::string gbnf) {
    constraints.push_back({field, std::move(gbnf)});
  }

  void from_schema(const std::string& field, const ordered_json& schema) {
    auto gbnf = grammar::json_schema_to_gbnf(schema);
    if (!gbnf.ok()) {
      return reader_.fail(fmt::format("Invalid value for '{}': {}", field, gbnf.status().message()),
                          field);
    }
    add(field, std::move(*gbnf));
  }

  void response_format() {
    const json* format = reader_.raw("response_format");
    if (!format) return;
    if (!format->is_object()) {
      return reader_.fail(type_error_message("response_format", "an object", *format),
                          "response_format", "invalid_type");
    }
    FieldReader f(*format, "response_format");
    const std::string type = f.required("type") ? f.string("type").value_or("") : "";
    if (type == "json_object") {
      add("response_format", grammar::json_object_gbnf());
    } else if (type == "json_schema") {
      json_schema_format(f);
    } else if (type != "text" && !f.failed()) {
      f.fail(
          "Invalid value for 'response_format.type': expected 'text', 'json_object' or "
          "'json_schema'.",
          "response_format.type");
    }
    if (auto e = f.finish()) reader_.fail(std::move(*e));
  }

  void json_schema_format(FieldReader& f) {
    const std::string path = "response_format.json_schema";
    const json* spec = f.required("json_schema");
    if (!spec) return;
    if (!spec->is_object()) {
      return f.fail(type_error_message(path, "an object", *spec), path, "invalid_type");
    }
    FieldReader s(*spec, path);
    if (s.required("name")) s.string("name");
    s.string("description");
    s.boolean("strict");
    if (const json* schema = s.raw("schema")) {
      if (!schema->is_object()) {
        s.fail(type_error_message(path + ".schema", "an object", *schema), path + ".schema",
               "invalid_type");
      } else if (!s.failed()) {
        from_schema(path + ".schema", ordered()["response_format"]["json_schema"]["schema"]);
      }
    } else if (!s.failed()) {
      from_schema(path, ordered_json::object());  // no schema: any JSON value
    }
    if (auto e = s.finish()) f.fail(std::move(*e));
  }

  void guided_choice() {
    const json* choices = reader_.raw("guided_choice");
    if (!choices) return;
    if (!choices->is_array() || choices->empty()) {
      return reader_.fail(
          "Invalid value for 'guided_choice': expected a non-empty array of strings.",
          "guided_choice", choices->is_array() ? "invalid_value" : "invalid_type");
    }
    std::string gbnf = "root ::=";
    for (size_t i = 0; i < choices->size(); ++i) {
      const json& c = (*choices)[i];
      if (!c.is_string() || c.get_ref<const std::string&>().empty()) {
        return reader_.fail(fmt::format("Invalid value for 'guided_choice[{}]': expected a "
                                        "non-empty string.",
                                        i),
                            fmt::format("guided_choice[{}]", i));
      }
      gbnf += (i ? " | " : " ") + grammar::gbnf_literal(c.get<std::string>());
    }
    add("guided_choice", gbnf);
  }

  FieldReader& reader_;
  std::string_view body_;
  std::optional<ordered_json> ordered_;
};

}  // namespace

void read_output_constraint(FieldReader& reader, std::string_view body, GenerationParams& params) {
  ConstraintReader r(reader, body);
  r.read();
  if (reader.failed() || r.constraints.empty()) return;
  if (r.constraints.size() > 1) {
    return reader.fail(fmt::format("Only one output constraint may be given; found '{}' and '{}'.",
                                   r.constraints[0].field, r.constraints[1].field),
                       r.constraints[1].field);
  }
  const Constraint& c = r.constraints[0];
  auto g = grammar::Grammar::parse(c.gbnf);
  if (!g.ok()) {
    return reader.fail(fmt::format("Invalid value for '{}': {}", c.field, g.status().message()),
                       c.field);
  }
  auto compiled = std::make_shared<const grammar::Grammar>(std::move(*g));
  grammar::GrammarMatcher start(compiled);
  if (!start.can_continue() && !start.is_complete()) {
    return reader.fail(fmt::format("Invalid value for '{}': the grammar is too ambiguous to "
                                   "match (too many parse states at its start).",
                                   c.field),
                       c.field);
  }
  params.grammar = std::move(compiled);
}

}  // namespace tenbin::server::openai
