// Objects are built with nlohmann::ordered_json so fields keep OpenAI's order, and dumped
// with the "replace" error handler so a stray invalid byte never throws.
#include "server/openai/responses.h"

#include <chrono>
#include <cmath>
#include <mutex>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace tenbin::server::openai {
namespace {

using ojson = nlohmann::ordered_json;

std::string dump(const ojson& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

double finite_logprob(float logprob) {
  return std::isfinite(logprob) ? logprob : -9999.0;
}

ojson token_bytes(std::string_view token) {
  ojson bytes = ojson::array();
  for (char c : token) bytes.push_back(static_cast<int>(static_cast<unsigned char>(c)));
  return bytes;
}

// Chat: {"content":[{token, logprob, bytes, top_logprobs:[{token, logprob, bytes}]}],
// "refusal":null}.
ojson chat_logprobs(bool with_logprobs, std::span<const TokenLogprob> logprobs) {
  if (!with_logprobs) return nullptr;
  ojson content = ojson::array();
  for (const TokenLogprob& t : logprobs) {
    ojson top = ojson::array();
    for (const TopLogprob& alt : t.top_logprobs) {
      top.push_back({{"token", alt.token},
                     {"logprob", finite_logprob(alt.logprob)},
                     {"bytes", token_bytes(alt.token)}});
    }
    content.push_back({{"token", t.token},
                       {"logprob", finite_logprob(t.logprob)},
                       {"bytes", token_bytes(t.token)},
                       {"top_logprobs", std::move(top)}});
  }
  return {{"content", std::move(content)}, {"refusal", nullptr}};
}

// Completions: {"tokens", "token_logprobs", "top_logprobs": [{token: logprob}], "text_offset"}.
ojson completion_logprobs(bool with_logprobs, std::span<const TokenLogprob> logprobs,
                          size_t text_offset) {
  if (!with_logprobs) return nullptr;
  ojson tokens = ojson::array(), values = ojson::array(), tops = ojson::array(),
        offsets = ojson::array();
  for (const TokenLogprob& t : logprobs) {
    tokens.push_back(t.token);
    values.push_back(finite_logprob(t.logprob));
    ojson top = ojson::object();
    for (const TopLogprob& alt : t.top_logprobs) top[alt.token] = finite_logprob(alt.logprob);
    tops.push_back(std::move(top));
    offsets.push_back(text_offset);
    text_offset += t.token.size();
  }
  return {{"tokens", std::move(tokens)},
          {"token_logprobs", std::move(values)},
          {"top_logprobs", std::move(tops)},
          {"text_offset", std::move(offsets)}};
}

ojson usage_object(const Usage& usage) {
  return {{"prompt_tokens", usage.prompt_tokens},
          {"completion_tokens", usage.completion_tokens},
          {"total_tokens", usage.prompt_tokens + usage.completion_tokens}};
}

ojson envelope(const ResponseMeta& meta, std::string_view object) {
  return {{"id", meta.id},
          {"object", object},
          {"created", meta.created},
          {"model", meta.model},
          {"system_fingerprint", meta.system_fingerprint}};
}

std::string chunk(const ResponseMeta& meta, std::string_view object, ojson choice,
                  bool include_usage) {
  ojson c = envelope(meta, object);
  c["choices"] = ojson::array({std::move(choice)});
  if (include_usage) c["usage"] = nullptr;
  return dump(c);
}

std::string usage_chunk_for(const ResponseMeta& meta, std::string_view object, const Usage& usage) {
  ojson c = envelope(meta, object);
  c["choices"] = ojson::array();
  c["usage"] = usage_object(usage);
  return dump(c);
}

}  // namespace

std::string_view finish_reason_name(FinishReason reason) {
  return reason == FinishReason::kStop ? "stop" : "length";
}

std::string make_response_id(std::string_view prefix) {
  static std::mutex mutex;
  static std::mt19937_64 rng{std::random_device{}()};
  uint64_t hi, lo;
  {
    std::lock_guard<std::mutex> lock(mutex);
    hi = rng();
    lo = rng();
  }
  return fmt::format("{}{:016x}{:016x}", prefix, hi, lo);
}

int64_t unix_seconds_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ResponseMeta completion_meta(std::string model) {
  return {make_response_id("cmpl-"), unix_seconds_now(), std::move(model)};
}

ResponseMeta chat_meta(std::string model) {
  return {make_response_id("chatcmpl-"), unix_seconds_now(), std::move(model)};
}

std::string completion_response(const ResponseMeta& meta, std::span<const CompletionChoice> choices,
                                const Usage& usage) {
  ojson r = envelope(meta, "text_completion");
  ojson list = ojson::array();
  for (const CompletionChoice& c : choices) {
    list.push_back({{"index", c.index},
                    {"text", c.text},
                    {"logprobs", completion_logprobs(c.has_logprobs, c.logprobs, c.text_offset)},
                    {"finish_reason", finish_reason_name(c.finish_reason)}});
  }
  r["choices"] = std::move(list);
  r["usage"] = usage_object(usage);
  return dump(r);
}

std::string chat_response(const ResponseMeta& meta, std::span<const ChatChoice> choices,
                          const Usage& usage) {
  ojson r = envelope(meta, "chat.completion");
  ojson list = ojson::array();
  for (const ChatChoice& c : choices) {
    list.push_back(
        {{"index", c.index},
         {"message", {{"role", "assistant"}, {"content", c.content}, {"refusal", nullptr}}},
         {"logprobs", chat_logprobs(c.has_logprobs, c.logprobs)},
         {"finish_reason", finish_reason_name(c.finish_reason)}});
  }
  r["choices"] = std::move(list);
  r["usage"] = usage_object(usage);
  return dump(r);
}

CompletionStream::CompletionStream(ResponseMeta meta, bool include_usage)
    : meta_(std::move(meta)), include_usage_(include_usage) {}

std::string CompletionStream::text_chunk(int index, std::string_view text, bool with_logprobs,
                                         std::span<const TokenLogprob> logprobs,
                                         size_t text_offset) const {
  ojson choice = {{"index", index},
                  {"text", text},
                  {"logprobs", completion_logprobs(with_logprobs, logprobs, text_offset)},
                  {"finish_reason", nullptr}};
  return chunk(meta_, "text_completion", std::move(choice), include_usage_);
}

std::string CompletionStream::finish_chunk(int index, FinishReason reason) const {
  ojson choice = {{"index", index},
                  {"text", ""},
                  {"logprobs", nullptr},
                  {"finish_reason", finish_reason_name(reason)}};
  return chunk(meta_, "text_completion", std::move(choice), include_usage_);
}

std::string CompletionStream::usage_chunk(const Usage& usage) const {
  return usage_chunk_for(meta_, "text_completion", usage);
}

ChatStream::ChatStream(ResponseMeta meta, bool include_usage)
    : meta_(std::move(meta)), include_usage_(include_usage) {}

std::string ChatStream::role_chunk(int index) const {
  ojson choice = {{"index", index},
                  {"delta", {{"role", "assistant"}, {"content", ""}}},
                  {"logprobs", nullptr},
                  {"finish_reason", nullptr}};
  return chunk(meta_, "chat.completion.chunk", std::move(choice), include_usage_);
}

std::string ChatStream::content_chunk(int index, std::string_view text, bool with_logprobs,
                                      std::span<const TokenLogprob> logprobs) const {
  ojson choice = {{"index", index},
                  {"delta", {{"content", text}}},
                  {"logprobs", chat_logprobs(with_logprobs, logprobs)},
                  {"finish_reason", nullptr}};
  return chunk(meta_, "chat.completion.chunk", std::move(choice), include_usage_);
}

std::string ChatStream::finish_chunk(int index, FinishReason reason) const {
  ojson choice = {{"index", index},
                  {"delta", ojson::object()},
                  {"logprobs", nullptr},
                  {"finish_reason", finish_reason_name(reason)}};
  return chunk(meta_, "chat.completion.chunk", std::move(choice), include_usage_);
}

std::string ChatStream::usage_chunk(const Usage& usage) const {
  return usage_chunk_for(meta_, "chat.completion.chunk", usage);
}

std::string model_object(const ModelCard& card) {
  return dump(ojson{{"id", card.id},
                    {"object", "model"},
                    {"created", card.created},
                    {"owned_by", card.owned_by}});
}

std::string models_list(std::span<const ModelCard> models) {
  ojson data = ojson::array();
  for (const ModelCard& m : models) {
    data.push_back(
        {{"id", m.id}, {"object", "model"}, {"created", m.created}, {"owned_by", m.owned_by}});
  }
  return dump(ojson{{"object", "list"}, {"data", std::move(data)}});
}

}  // namespace tenbin::server::openai
