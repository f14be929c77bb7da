// --api-key over real HTTP (401 without or with a wrong key, 200 with the right one, exempt
// probe paths) and the constant-time comparison.
#include <nlohmann/json.hpp>

#include "server/auth/api_key.h"
#include "unit/server/http_test_client.h"

namespace tenbin::server::auth {
namespace {
using http::testing::start_server;
using http::testing::TestClient;

TEST(AuthApiKey, ConstantTimeEquals) {
  EXPECT_TRUE(constant_time_equals("sk-abc", "sk-abc"));
  EXPECT_FALSE(constant_time_equals("sk-abd", "sk-abc"));
  EXPECT_FALSE(constant_time_equals("sk-ab", "sk-abc"));
  EXPECT_FALSE(constant_time_equals("sk-abcd", "sk-abc"));
  EXPECT_FALSE(constant_time_equals("", "sk-abc"));
  EXPECT_TRUE(constant_time_equals("", ""));
}

TEST(AuthApiKey, DisabledWithoutKey) {
  ApiKeyAuth auth(ApiKeyOptions{});
  http::HttpRequest request;
  request.path = "/v1/models";
  EXPECT_FALSE(auth.enabled());
  EXPECT_FALSE(auth.check(request).has_value());
}

TEST(AuthApiKey, OverHttp) {
  http::Router router;
  router.get("/v1/models", [](const http::HttpRequest&) {
    return http::HttpResponse::json(200, "{\"data\":[]}");
  });
  router.get("/health",
             [](const http::HttpRequest&) { return http::HttpResponse::text(200, "ok"); });
  router.set_guard(ApiKeyAuth(ApiKeyOptions{.api_key = "sk-test-123"}).guard());
  auto server = start_server(std::move(router));
  ASSERT_NE(server, nullptr);
  TestClient client(server->port());

  auto missing = client.request("GET", "/v1/models");
  EXPECT_EQ(missing.result_int(), 401);
  auto error = nlohmann::json::parse(missing.body())["error"];
  EXPECT_EQ(error["type"], "authentication_error");
  EXPECT_EQ(error["code"], "invalid_api_key");

  auto wrong = client.request("GET", "/v1/models", {}, {{"Authorization", "Bearer sk-test-124"}});
  EXPECT_EQ(wrong.result_int(), 401);
  auto not_bearer = client.request("GET", "/v1/models", {}, {{"Authorization", "sk-test-123"}});
  EXPECT_EQ(not_bearer.result_int(), 401);

  auto right = client.request("GET", "/v1/models", {}, {{"Authorization", "Bearer sk-test-123"}});
  EXPECT_EQ(right.result_int(), 200);
  EXPECT_EQ(right.body(), "{\"data\":[]}");

  EXPECT_EQ(client.request("GET", "/health").result_int(), 200);  // exempt by default
  // Unknown routes are refused before routing, so they do not reveal what exists.
  EXPECT_EQ(client.request("GET", "/v1/secret").result_int(), 401);
}

TEST(AuthApiKey, ExemptPathsAreConfigurable) {
  ApiKeyAuth auth(ApiKeyOptions{.api_key = "k", .exempt_paths = {}});
  http::HttpRequest request;
  request.path = "/health";
  ASSERT_TRUE(auth.check(request).has_value());
  EXPECT_EQ(auth.check(request)->status, 401);
  request.headers.emplace_back("authorization", "bearer k");
  EXPECT_FALSE(auth.check(request).has_value());
}

}  // namespace
}  // namespace tenbin::server::auth
