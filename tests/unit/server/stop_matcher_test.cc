// StopMatcher: text is held back only while it could still start a stop string; a match
// emits the text before it and drops the rest.
#include <gtest/gtest.h>

#include "server/openai/stop_matcher.h"

namespace tenbin::server::openai {
namespace {

// Feeds `pieces` and returns everything emitted (plus the flush when no stop matched).
std::string run(StopMatcher& m, std::initializer_list<std::string_view> pieces) {
  std::string out;
  for (auto p : pieces) out += m.feed(p).text;
  if (!m.stopped()) out += m.flush();
  return out;
}

TEST(StopMatcher, NoStopStringsPassesThrough) {
  StopMatcher m({});
  auto r = m.feed("hello");
  EXPECT_EQ(r.text, "hello");
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, NoMatchEmitsEverything) {
  StopMatcher m({"END"});
  EXPECT_EQ(m.feed("abc").text, "abc");
  EXPECT_EQ(m.feed(" E").text, " ");  // "E" could start "END"
  EXPECT_EQ(m.held_bytes(), 1u);
  EXPECT_EQ(m.feed("x").text, "Ex");
  EXPECT_EQ(m.flush(), "");
  EXPECT_FALSE(m.stopped());
}

TEST(StopMatcher, MatchInsideOnePiece) {
  StopMatcher m({"\n\n"});
  auto r = m.feed("line one\n\nline two");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "line one");
  EXPECT_EQ(r.stop_index, 0);
}

TEST(StopMatcher, MatchAcrossPieceBoundaries) {
  StopMatcher m({"STOP"});
  EXPECT_EQ(m.feed("go S").text, "go ");
  EXPECT_EQ(m.feed("T").text, "");
  EXPECT_EQ(m.feed("O").text, "");
  auto r = m.feed("P and more");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "");
  // Nothing comes out after a match.
  auto after = m.feed("ignored");
  EXPECT_TRUE(after.stopped);
  EXPECT_EQ(after.text, "");
}

TEST(StopMatcher, FalseStartIsReleased) {
  StopMatcher m({"STOP"});
  EXPECT_EQ(run(m, {"ST", "OR", "Y"}), "STORY");
  EXPECT_FALSE(m.stopped());
}

TEST(StopMatcher, HeldTextIsFlushedAtTheEnd) {
  StopMatcher m({"STOP"});
  EXPECT_EQ(m.feed("abc ST").text, "abc ");
  EXPECT_EQ(m.flush(), "ST");
}

TEST(StopMatcher, MultipleStopStringsEarliestWins) {
  StopMatcher m({"world", "lo"});
  auto r = m.feed("hello world");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "hel");
  EXPECT_EQ(r.stop_index, 1);
}

TEST(StopMatcher, MultipleStopStringsAcrossPieces) {
  StopMatcher m({"</s>", "###"});
  EXPECT_EQ(m.feed("a <").text, "a ");
  EXPECT_EQ(m.feed("/x #").text, "</x ");
  auto r = m.feed("##tail");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.stop_index, 1);
  EXPECT_EQ(r.text, "");
}

TEST(StopMatcher, OverlappingPrefixes) {
  // "aab" inside "aaab": the held tail must re-align on the later start.
  StopMatcher m({"aab"});
  EXPECT_EQ(m.feed("xa").text, "x");
  EXPECT_EQ(m.feed("a").text, "");
  EXPECT_EQ(m.feed("a").text, "a");  // "aaa": only "aa" can still start "aab"
  auto r = m.feed("b!");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "");
}

TEST(StopMatcher, StopStringsSharingAPrefix) {
  StopMatcher m({"abcd", "abx"});
  EXPECT_EQ(m.feed("zab").text, "z");
  auto r = m.feed("x");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.stop_index, 1);
  EXPECT_EQ(r.text, "");
  StopMatcher n({"abcd", "abx"});
  EXPECT_EQ(run(n, {"zab", "c", "e"}), "zabce");
}

TEST(StopMatcher, ShorterStopInsideLongerPartial) {
  // "b" completes while "abc" is still partial: the complete match wins.
  StopMatcher m({"abc", "b"});
  EXPECT_EQ(m.feed("xa").text, "x");
  auto r = m.feed("b");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "a");
  EXPECT_EQ(r.stop_index, 1);
}

TEST(StopMatcher, EmptyStopStringsIgnoredAndUtf8Kept) {
  StopMatcher m({"", "\xE2\x80\xA6"});  // "…"
  EXPECT_EQ(m.feed("caf\xC3\xA9 \xE2\x80").text, "caf\xC3\xA9 ");
  auto r = m.feed("\xA6 more");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "");
}

TEST(StopMatcher, StopAtVeryStart) {
  StopMatcher m({"Q:"});
  auto r = m.feed("Q: next");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "");
}

}  // namespace
}  // namespace tenbin::server::openai
