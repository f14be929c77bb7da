// OpenAI error objects: shape, status codes and headers.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/openai/errors.h"

namespace tenbin::server::openai {
namespace {

std::string header(const http::HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST(OpenAiError, BodyHasAllFourFieldsWithNulls) {
  EXPECT_EQ(
      error_body("bad", "invalid_request_error"),
      R"({"error":{"message":"bad","type":"invalid_request_error","param":null,"code":null}})");
}

TEST(OpenAiError, BadRequestNamesTheParam) {
  auto r = bad_request("temperature must be in [0, 2]", "temperature", "invalid_value");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "application/json");
  auto e = nlohmann::json::parse(r.body)["error"];
  EXPECT_EQ(e["param"], "temperature");
  EXPECT_EQ(e["code"], "invalid_value");
  EXPECT_EQ(e["type"], "invalid_request_error");
}

TEST(OpenAiError, StatusCodesAndTypes) {
  EXPECT_EQ(invalid_api_key().status, 401);
  EXPECT_EQ(nlohmann::json::parse(invalid_api_key().body)["error"]["code"], "invalid_api_key");
  EXPECT_EQ(not_found("GET", "/x").status, 404);
  EXPECT_EQ(resource_not_found("model 'm' does not exist", "model_not_found").status, 404);
  auto m = method_not_allowed("PUT", "/v1/models", "GET");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(header(m, "Allow"), "GET");
  EXPECT_EQ(request_timeout("deadline exceeded").status, 408);
  EXPECT_EQ(payload_too_large(10).status, 413);
  EXPECT_EQ(internal_error("oops").status, 500);
  EXPECT_EQ(nlohmann::json::parse(internal_error("oops").body)["error"]["type"], "server_error");
  EXPECT_EQ(service_unavailable("shutting down").status, 503);
  EXPECT_EQ(header(service_unavailable("busy", 3), "Retry-After"), "3");
}

TEST(OpenAiError, TooManyRequestsCarriesRetryAfter) {
  auto r = too_many_requests("queue is full", 2);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(header(r, "Retry-After"), "2");
  EXPECT_EQ(header(too_many_requests("x", 0), "Retry-After"), "1");
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["type"], "rate_limit_error");
}

TEST(OpenAiError, MessagesAreEscapedAndInvalidUtf8Replaced) {
  auto j = nlohmann::json::parse(error_body("say \"hi\"\n\xff", "invalid_request_error"));
  EXPECT_EQ(j["error"]["message"], "say \"hi\"\n\xEF\xBF\xBD");
}

TEST(OpenAiError, SerializedResponseHasFraming) {
  std::string wire = http::serialize_response(too_many_requests("full", 5), true);
  EXPECT_EQ(wire.rfind("HTTP/1.1 429 Too Many Requests\r\n", 0), 0u);
  EXPECT_NE(wire.find("Retry-After: 5\r\n"), std::string::npos);
  EXPECT_NE(wire.find("Connection: keep-alive\r\n"), std::string::npos);
  EXPECT_NE(wire.find("Content-Type: application/json\r\n"), std::string::npos);
}

}  // namespace
}  // namespace tenbin::server::openai
