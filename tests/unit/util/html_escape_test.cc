// html_escape: the four characters that matter in element content and quoted attributes.
#include "util/html_escape.h"

#include <gtest/gtest.h>

namespace tenbin {
namespace {

TEST(HtmlEscape, EscapesMarkupCharactersAndKeepsTheRest) {
  EXPECT_EQ(html_escape(R"(<a href="x">Q&A</a>)"),
            "&lt;a href=&quot;x&quot;&gt;Q&amp;A&lt;/a&gt;");
  EXPECT_EQ(html_escape("plain 'text' ü"), "plain 'text' ü");
  EXPECT_EQ(html_escape(""), "");
}

}  // namespace
}  // namespace tenbin
