// Field by field mapping of the shared OpenAI request members onto GenerationParams.
#include "server/openai/generation_params.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

namespace tenbin::server::openai {
namespace {

using json = nlohmann::json;

void read_stop(FieldReader& reader, GenerationParams& p) {
  const json* stop = reader.raw("stop");
  if (!stop) return;
  const std::string path = reader.path_of("stop");
  auto add = [&](const json& s, const std::string& at) {
    const auto& text = s.get_ref<const std::string&>();
    if (auto e = check_utf8(text, at)) return reader.fail(std::move(*e));
    if (!text.empty()) p.stop.push_back(text);
  };
  if (stop->is_string()) return add(*stop, path);
  if (!stop->is_array()) {
    return reader.fail(type_error_message(path, "a string or an array of strings", *stop), path,
                       "invalid_type");
  }
  if (stop->size() > static_cast<size_t>(kMaxStopStrings)) {
    return reader.fail(fmt::format("Invalid value for '{}': at most {} stop sequences are "
                                   "allowed, got {}.",
                                   path, kMaxStopStrings, stop->size()),
                       path);
  }
  for (size_t i = 0; i < stop->size(); ++i) {
    const std::string at = fmt::format("{}[{}]", path, i);
    if (!(*stop)[i].is_string()) {
      return reader.fail(type_error_message(at, "a string", (*stop)[i]), at, "invalid_type");
    }
    add((*stop)[i], at);
  }
}

void read_stream_options(FieldReader& reader, GenerationParams& p) {
  const json* options = reader.raw("stream_options");
  if (!options) return;
  const std::string path = reader.path_of("stream_options");
  if (!options->is_object()) {
    return reader.fail(type_error_message(path, "an object", *options), path, "invalid_type");
  }
  if (!p.stream) {
    return reader.fail("The 'stream_options' parameter is only allowed when 'stream' is true.",
                       path);
  }
  FieldReader sub(*options, path);
  p.include_usage = sub.boolean("include_usage").value_or(false);
  sub.boolean("include_obfuscation");     // nothing to obfuscate; accepted
  sub.boolean("continuous_usage_stats");  // vLLM's; accepted, not implemented
  if (auto e = sub.finish()) reader.fail(std::move(*e));
}

// OpenAI's logit_bias: an object from token ids (decimal strings) to values in [-100, 100].
// Ids are checked against the vocabulary by the service, which knows it.
void read_logit_bias(FieldReader& reader, SamplingParams& sampling) {
  const json* bias = reader.raw("logit_bias");
  if (!bias) return;
  const std::string path = reader.path_of("logit_bias");
  if (!bias->is_object()) {
    return reader.fail(type_error_message(path, "an object", *bias), path, "invalid_type");
  }
  for (const auto& [key, value] : bias->items()) {
    const bool digits =
        !key.empty() && key.size() <= 9 &&
        std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) {
      return reader.fail(fmt::format("Invalid key in '{}': '{}' is not a token id.", path, key),
                         path);
    }
    const std::string at = path + "." + key;
    if (!value.is_number()) {
      return reader.fail(type_error_message(at, "a number", value), path, "invalid_type");
    }
    const double v = value.get<double>();
    if (!(v >= -100.0 && v <= 100.0)) {
      return reader.fail(
          fmt::format("Invalid value for '{}': {} is outside [-100, 100].", at, value.dump()),
          path);
    }
    sampling.logit_bias.emplace_back(std::stoi(key), static_cast<float>(v));
  }
}

}  // namespace

GenerationParams read_generation_params(FieldReader& reader) {
  GenerationParams p;
  if (reader.required("model")) p.model = reader.string("model").value_or("");

  SamplingParams& s = p.sampling;
  s.temperature = 1.0f;
  s.top_p = 1.0f;
  s.top_k = 0;
  s.min_p = 0.0f;
  s.repeat_penalty = 1.0f;
  if (auto v = reader.number("temperature", 0.0, 2.0)) s.temperature = static_cast<float>(*v);
  if (auto v = reader.number("top_p", 0.0, 1.0)) {
    // top_p 0 keeps only the most likely token (the limit of the nucleus).
    if (*v == 0.0) {
      s.top_k = 1;
    } else {
      s.top_p = static_cast<float>(*v);
    }
  }
  if (auto v = reader.integer("top_k", -1, std::numeric_limits<int32_t>::max())) {
    if (*v > 0 && s.top_k != 1) s.top_k = static_cast<int32_t>(*v);  // top_p 0 keeps k = 1
  }
  if (auto v = reader.number("min_p", 0.0, 1.0)) s.min_p = static_cast<float>(*v);
  if (auto v = reader.number("presence_penalty", -2.0, 2.0)) {
    s.presence_penalty = static_cast<float>(*v);
  }
  if (auto v = reader.number("frequency_penalty", -2.0, 2.0)) {
    s.frequency_penalty = static_cast<float>(*v);
  }
  if (auto v = reader.number("repetition_penalty", 0.0, 10.0)) {
    if (*v == 0.0) {
      reader.fail("Invalid value for 'repetition_penalty': it must be greater than 0.",
                  reader.path_of("repetition_penalty"));
    }
    s.repeat_penalty = static_cast<float>(*v);
  }
  if (auto v = reader.integer("seed", std::numeric_limits<int64_t>::min(),
                              std::numeric_limits<int64_t>::max())) {
    s.seed = static_cast<uint64_t>(*v);
    p.has_seed = true;
  }

  read_stop(reader, p);
  p.n = static_cast<int>(reader.integer("n", 1, kMaxChoices).value_or(1));
  p.stream = reader.boolean("stream").value_or(false);
  read_stream_options(reader, p);
  p.ignore_eos = reader.boolean("ignore_eos").value_or(false);
  p.priority = static_cast<int32_t>(reader
                                        .integer("priority", std::numeric_limits<int32_t>::min(),
                                                 std::numeric_limits<int32_t>::max())
                                        .value_or(0));
  p.user = reader.string("user").value_or("");
  read_logit_bias(reader, s);
  reader.ignore({"metadata", "store", "service_tier", "prompt_cache_key", "safety_identifier"});
  return p;
}

}  // namespace tenbin::server::openai
