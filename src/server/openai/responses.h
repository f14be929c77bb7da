// OpenAI response objects as JSON text: non-streaming text_completion and chat.completion,
// streaming chunks (payloads for http::sse_event; the stream ends with kDoneEvent), the
// /v1/models list, ids and timestamps. Pure functions; invalid UTF-8 in text is replaced
// with U+FFFD, non-finite logprobs become -9999 (as OpenAI reports -inf).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tenbin::server::openai {

inline constexpr std::string_view kDoneEvent = "[DONE]";  // payload of the last SSE event
inline constexpr std::string_view kSystemFingerprint = "fp_tenbin";

enum class FinishReason { kStop, kLength };
std::string_view finish_reason_name(FinishReason reason);  // "stop" / "length"

// Shared by every object of one response (all chunks of a stream carry the same values).
struct ResponseMeta {
  std::string id;  // "cmpl-..." / "chatcmpl-..."
  int64_t created = 0;
  std::string model;
  std::string system_fingerprint = std::string(kSystemFingerprint);
};
// prefix + 32 random hex digits.
std::string make_response_id(std::string_view prefix);
int64_t unix_seconds_now();
ResponseMeta completion_meta(std::string model);  // id "cmpl-...", created now
ResponseMeta chat_meta(std::string model);        // id "chatcmpl-...", created now

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

struct TopLogprob {
  std::string token;  // the token's bytes (may be part of a UTF-8 character)
  float logprob = 0.0f;
};
struct TokenLogprob {
  std::string token;
  float logprob = 0.0f;
  std::vector<TopLogprob> top_logprobs;  // most likely first
};

struct CompletionChoice {
  int index = 0;
  std::string text;  // with the prompt in front when echo
  FinishReason finish_reason = FinishReason::kLength;
  bool has_logprobs = false;           // false: "logprobs": null
  std::vector<TokenLogprob> logprobs;  // one per generated (or echoed) token
  size_t text_offset = 0;              // offset of the first logprob token in `text`
};
struct ChatChoice {
  int index = 0;
  std::string content;
  FinishReason finish_reason = FinishReason::kLength;
  bool has_logprobs = false;
  std::vector<TokenLogprob> logprobs;
};

std::string completion_response(const ResponseMeta& meta, std::span<const CompletionChoice> choices,
                                const Usage& usage);
std::string chat_response(const ResponseMeta& meta, std::span<const ChatChoice> choices,
                          const Usage& usage);

// Streaming. With include_usage every chunk carries "usage": null and usage_chunk() sends the
// totals last (empty choices), as OpenAI does. Logprob spans are ignored unless
// `with_logprobs`.
class CompletionStream {
 public:
  CompletionStream(ResponseMeta meta, bool include_usage);
  // `text_offset`: offset of this piece in the choice's whole text (for logprobs.text_offset).
  std::string text_chunk(int index, std::string_view text, bool with_logprobs = false,
                         std::span<const TokenLogprob> logprobs = {}, size_t text_offset = 0) const;
  std::string finish_chunk(int index, FinishReason reason) const;  // text "", finish_reason
  std::string usage_chunk(const Usage& usage) const;
  const ResponseMeta& meta() const { return meta_; }

 private:
  ResponseMeta meta_;
  bool include_usage_;
};

class ChatStream {
 public:
  ChatStream(ResponseMeta meta, bool include_usage);
  std::string role_chunk(int index) const;  // delta {role: "assistant", content: ""}
  std::string content_chunk(int index, std::string_view text, bool with_logprobs = false,
                            std::span<const TokenLogprob> logprobs = {}) const;
  std::string finish_chunk(int index, FinishReason reason) const;  // empty delta
  std::string usage_chunk(const Usage& usage) const;
  const ResponseMeta& meta() const { return meta_; }

 private:
  ResponseMeta meta_;
  bool include_usage_;
};

struct ModelCard {
  std::string id;
  int64_t created = 0;
  std::string owned_by = "tenbin";
};
std::string model_object(const ModelCard& card);  // GET /v1/models/{id}
std::string models_list(std::span<const ModelCard> models);

}  // namespace tenbin::server::openai
