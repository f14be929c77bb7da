#include "server/openai_service.h"

#include "server/generation_job.h"
#include "server/openai/chat_request.h"
#include "server/openai/completion_request.h"
#include "server/openai/errors.h"
#include "server/openai/responses.h"

namespace tenbin::server {
namespace {

http::HttpResponse not_ready() {
  return openai::service_unavailable("the model is still loading", 1);
}

// The model field may name the served model or be empty; anything else is a 404, as OpenAI.
std::optional<http::HttpResponse> check_model(const std::string& requested,
                                              const std::string& served) {
  if (requested.empty() || requested == served) return std::nullopt;
  return openai::resource_not_found("The model '" + requested + "' does not exist", "model");
}

// logit_bias may only name tokens of the served vocabulary.
std::optional<http::HttpResponse> check_logit_bias(const SamplingParams& sampling,
                                                   int32_t n_vocab) {
  for (const auto& [id, bias] : sampling.logit_bias) {
    if (id >= n_vocab) {
      return openai::bad_request(
          fmt::format("Invalid key in 'logit_bias': token id {} is outside the vocabulary (0..{}).",
                      id, n_vocab - 1),
          "logit_bias");
    }
  }
  return std::nullopt;
}

}  // namespace

const ModelServices* OpenAiService::ready() const {
  return ready_.load(std::memory_order_acquire) ? &services_ : nullptr;
}

void OpenAiService::set_ready(const ModelServices& services) {
  services_ = services;
  ready_.store(true, std::memory_order_release);
}

void OpenAiService::install(http::Router& router) {
  router.get("/health", [this](const http::HttpRequest&) {
    if (!ready()) return http::HttpResponse::json(503, R"({"status":"loading"})");
    return http::HttpResponse::json(200, R"({"status":"ok"})");
  });
  router.get("/metrics", [this](const http::HttpRequest&) {
    const ModelServices* s = ready();
    if (!s) return not_ready();
    return http::HttpResponse::text(200, s->metrics->render(s->engine->stats()),
                                    std::string(prometheus::kContentType));
  });
  router.get("/v1/models", [this](const http::HttpRequest&) {
    const ModelServices* s = ready();
    if (!s) return not_ready();
    openai::ModelCard card{s->model_name, s->created, "tenbin"};
    return http::HttpResponse::json(200, openai::models_list({&card, 1}));
  });
  router.add("POST", "/v1/completions",
             [this](http::HttpRequest r, std::shared_ptr<http::Responder> out) {
               completions(r, std::move(out));
             });
  router.add("POST", "/v1/chat/completions",
             [this](http::HttpRequest r, std::shared_ptr<http::Responder> out) {
               chat(r, std::move(out));
             });
}

void OpenAiService::completions(const http::HttpRequest& request,
                                std::shared_ptr<http::Responder> responder) {
  const ModelServices* s = ready();
  if (!s) return responder->reply(not_ready());
  auto parsed = openai::parse_completion_request(request.body);
  if (!parsed.ok()) return responder->reply(parsed.error().response());
  if (auto bad = check_model(parsed->params.model, s->model_name)) return responder->reply(*bad);
  if (auto bad = check_logit_bias(parsed->params.sampling, s->n_vocab)) {
    return responder->reply(*bad);
  }

  std::vector<JobChoiceInput> inputs;
  for (size_t p = 0; p < parsed->prompts.size(); ++p) {
    const openai::CompletionPrompt& prompt = parsed->prompts[p];
    std::vector<int32_t> tokens =
        prompt.is_tokens ? prompt.tokens : s->tokenizer->encode(prompt.text, true, true);
    for (int32_t t : tokens) {
      if (t >= s->n_vocab) {
        return responder->reply(openai::bad_request(
            fmt::format("token id {} is outside the vocabulary (0..{})", t, s->n_vocab - 1),
            "prompt"));
      }
    }
    if (tokens.empty())
      return responder->reply(openai::bad_request("the prompt is empty", "prompt"));
    for (int j = 0; j < parsed->params.n; ++j) {
      JobChoiceInput in;
      in.prompt = tokens;
      in.max_tokens = *parsed->params.max_tokens;
      if (parsed->echo) in.echo_text = prompt.is_tokens ? "" : prompt.text;
      inputs.push_back(std::move(in));
    }
  }
  auto job = std::make_shared<GenerationJob>(JobKind::kCompletion, parsed->params, s->model_name,
                                             *s->tokenizer, *s->metrics, std::move(responder));
  job->start(*s->engine, std::move(inputs));
}

void OpenAiService::chat(const http::HttpRequest& request,
                         std::shared_ptr<http::Responder> responder) {
  const ModelServices* s = ready();
  if (!s) return responder->reply(not_ready());
  auto parsed = openai::parse_chat_request(request.body);
  if (!parsed.ok()) return responder->reply(parsed.error().response());
  if (auto bad = check_model(parsed->params.model, s->model_name)) return responder->reply(*bad);
  if (auto bad = check_logit_bias(parsed->params.sampling, s->n_vocab)) {
    return responder->reply(*bad);
  }

  ChatTemplateInputs in;
  in.messages = parsed->messages;
  in.add_generation_prompt = true;
  in.bos_token = s->chat_template->bos_token;
  in.eos_token = s->chat_template->eos_token;
  auto text = s->chat_template->chat_template.render(in);
  if (!text.ok()) {
    return responder->reply(
        openai::bad_request("the chat template failed: " + text.status().message(), "messages"));
  }
  // Templates usually emit the BOS text themselves; add it only when they do not.
  const bool has_bos = !in.bos_token.empty() && text->rfind(in.bos_token, 0) == 0;
  std::vector<int32_t> tokens = s->tokenizer->encode(*text, !has_bos, true);
  if (tokens.empty())
    return responder->reply(openai::bad_request("the prompt is empty", "messages"));
  const int64_t room = s->engine->max_context() - static_cast<int64_t>(tokens.size());
  if (room < 1) {
    return responder->reply(openai::bad_request(
        fmt::format("this model's maximum context length is {} tokens; the messages take {}",
                    s->engine->max_context(), tokens.size()),
        "messages"));
  }
  std::vector<JobChoiceInput> inputs;
  for (int j = 0; j < parsed->params.n; ++j) {
    JobChoiceInput choice;
    choice.prompt = tokens;
    choice.max_tokens = parsed->params.max_tokens
                            ? *parsed->params.max_tokens
                            : static_cast<int32_t>(std::min<int64_t>(room, INT32_MAX));
    inputs.push_back(std::move(choice));
  }
  auto job = std::make_shared<GenerationJob>(JobKind::kChat, parsed->params, s->model_name,
                                             *s->tokenizer, *s->metrics, std::move(responder));
  job->start(*s->engine, std::move(inputs));
}

}  // namespace tenbin::server
