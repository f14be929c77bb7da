#include "bench/stream_accumulator.h"

#include <nlohmann/json.hpp>

namespace tenbin::bench {
namespace {

// The text a choice carries: `text` (completions) or the delta's `content` or
// `reasoning_content` (chat).
std::string choice_text(const nlohmann::json& choice) {
  if (!choice.is_object()) return "";
  if (auto t = choice.find("text"); t != choice.end() && t->is_string())
    return t->get<std::string>();
  if (auto d = choice.find("delta"); d != choice.end() && d->is_object()) {
    std::string out;
    for (const char* key : {"reasoning_content", "content"}) {
      if (auto c = d->find(key); c != d->end() && c->is_string()) out += c->get<std::string>();
    }
    return out;
  }
  return "";
}

}  // namespace

void StreamAccumulator::on_event(std::string_view data, double t_s) {
  if (data == "[DONE]") {
    saw_done_ = true;
    return;
  }
  nlohmann::json j = nlohmann::json::parse(data, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    if (error_.empty()) error_ = "undecodable stream event: " + std::string(data.substr(0, 200));
    return;
  }
  if (auto e = j.find("error"); e != j.end() && !e->is_null()) {
    if (error_.empty()) {
      error_ = e->is_object() && e->contains("message") && (*e)["message"].is_string()
                   ? (*e)["message"].get<std::string>()
                   : e->dump();
    }
    return;
  }
  if (auto c = j.find("choices"); c != j.end() && c->is_array() && !c->empty()) {
    std::string piece = choice_text((*c)[0]);
    if (!piece.empty()) {
      token_times_s_.push_back(t_s);
      text_ += piece;
    }
  }
  if (auto u = j.find("usage"); u != j.end() && u->is_object()) {
    if (auto p = u->find("prompt_tokens"); p != u->end() && p->is_number_integer()) {
      usage_prompt_tokens_ = p->get<int64_t>();
    }
    if (auto p = u->find("completion_tokens"); p != u->end() && p->is_number_integer()) {
      usage_completion_tokens_ = p->get<int64_t>();
    }
  }
}

}  // namespace tenbin::bench
