// libFuzzer target for what structured-output requests feed the engine: bytes starting with
// '{' are read as a JSON Schema and converted to GBNF (which must then compile, unless it is
// left-recursive through a $ref); other bytes up to a NUL are GBNF text, and what follows the
// NUL is fed to a matcher of the compiled grammar. Sanitizers and the matcher's bounds see any
// overflow, runaway recursion or unbounded work.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/grammar/grammar.h"
#include "engine/grammar/grammar_matcher.h"
#include "engine/grammar/json_schema_grammar.h"

namespace {

void match(const std::shared_ptr<const tenbin::grammar::Grammar>& g, std::string_view text) {
  tenbin::grammar::GrammarMatcher m(g);
  volatile bool sink = m.is_complete() || m.can_continue();
  for (size_t i = 0; i < text.size(); i += 3) {
    sink = sink || m.accept(text.substr(i, 3));
    sink = sink || m.can_accept(text.substr(i, 1));
  }
  sink = sink || m.is_complete();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string_view source = input.substr(0, nul);
  // At most 256 bytes of text: each character may cost up to the matcher's work bound.
  const std::string_view text =
      nul == std::string_view::npos ? "" : input.substr(nul + 1).substr(0, 256);
  std::string gbnf;
  if (!source.empty() && source[0] == '{') {
    const auto schema = nlohmann::ordered_json::parse(source, nullptr, false);
    if (schema.is_discarded()) return 0;
    auto converted = tenbin::grammar::json_schema_to_gbnf(schema);
    if (!converted.ok()) return 0;
    gbnf = *converted;
  } else {
    gbnf = std::string(source);
  }
  auto g = tenbin::grammar::Grammar::parse(gbnf);
  if (!g.ok()) return 0;
  match(std::make_shared<const tenbin::grammar::Grammar>(std::move(*g)), text);
  return 0;
}
