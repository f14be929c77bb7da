// The SSE parser fed in every possible split, and base-URL parsing.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "util/http_client/sse_parser.h"
#include "util/http_client/url.h"

namespace tenbin::http_client {
namespace {

std::vector<std::string> parse_in_pieces(const std::string& body, size_t piece) {
  SseParser parser;
  std::vector<std::string> events;
  for (size_t i = 0; i < body.size(); i += piece) {
    parser.feed(std::string_view(body).substr(i, piece),
                [&](std::string_view data) { events.emplace_back(data); });
  }
  return events;
}

TEST(SseParser, EventsSurviveEverySplit) {
  const std::string body =
      ": ping\n\n"
      "data: {\"a\":1}\n\n"
      "event: message\r\nid: 7\r\ndata: line one\r\ndata:line two\r\n\r\n"
      "data: cr only\r\rretry: 10\n"
      "data: [DONE]\n\n";
  const std::vector<std::string> expected = {"{\"a\":1}", "line one\nline two", "cr only",
                                             "[DONE]"};
  for (size_t piece = 1; piece <= body.size(); ++piece) {
    EXPECT_EQ(parse_in_pieces(body, piece), expected) << "piece size " << piece;
  }
}

TEST(SseParser, UnfinishedEventIsHeldBack) {
  SseParser parser;
  int events = 0;
  parser.feed("data: partial", [&](std::string_view) { ++events; });
  EXPECT_EQ(events, 0);
  EXPECT_TRUE(parser.has_partial_event());
  parser.feed("\n", [&](std::string_view) { ++events; });
  EXPECT_EQ(events, 0);
  parser.feed("\n", [&](std::string_view d) {
    ++events;
    EXPECT_EQ(d, "partial");
  });
  EXPECT_EQ(events, 1);
  EXPECT_FALSE(parser.has_partial_event());
}

TEST(HttpUrl, Parses) {
  auto u = parse_http_url("http://127.0.0.1:8080");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->base_path, "");
  u = parse_http_url("localhost/v1/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "localhost");
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->base_path, "/v1");
  u = parse_http_url("http://[::1]:9000/x");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->host_header(), "[::1]:9000");
  EXPECT_EQ(u->base_path, "/x");
  EXPECT_FALSE(parse_http_url("https://api.example.com").ok());
  EXPECT_FALSE(parse_http_url("http://:80").ok());
  EXPECT_FALSE(parse_http_url("http://h:99999").ok());
  EXPECT_FALSE(parse_http_url("http://h:8o").ok());
}

}  // namespace
}  // namespace tenbin::http_client
