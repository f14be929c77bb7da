// `tenbin run` as a user runs it: the real binary, greedy, on the trained stories260K model.
#include <string>

#include <gtest/gtest.h>

#include "unit/test_util.h"

namespace tenbin {
namespace {

TEST(RunCommand, GreedyStoryMatchesReferenceText) {
  test::CommandResult r =
      test::run_tenbin("run -m " + test::shared_path("models/stories260K.gguf") +
                       " -p 'Once upon a time' -n 24 --temp 0 --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Once upon a time, there was a little girl named Lily."),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("tokens/s"), std::string::npos) << r.output;
}

TEST(RunCommand, MissingModelIsAClearError) {
  test::CommandResult r = test::run_tenbin("run -m /nonexistent/model.gguf -n 4");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("/nonexistent/model.gguf"), std::string::npos) << r.output;
}

TEST(RunCommand, PromptLongerThanContextIsRefused) {
  test::CommandResult r =
      test::run_tenbin("run -m " + test::shared_path("models/stories260K.gguf") +
                       " -p 'Once upon a time there was a little girl' --ctx 4 -n 4");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("raise --ctx"), std::string::npos) << r.output;
}

TEST(RunCommand, SeededSamplingIsReproducible) {
  const std::string args = "run -m " + test::shared_path("models/stories260K.gguf") +
                           " -p 'Lily' -n 16 --temp 0.9 --seed 5 --threads 1";
  test::CommandResult a = test::run_tenbin(args);
  test::CommandResult b = test::run_tenbin(args);
  ASSERT_EQ(a.exit_code, 0) << a.output;
  auto text = [](const std::string& s) { return s.substr(s.find("Lily")); };
  EXPECT_EQ(text(a.output).substr(0, 40), text(b.output).substr(0, 40));
}

TEST(RunCommand, KvTypeQ8RunsWhereHeadsAreWholeGroupsAndIsRefusedElsewhere) {
  test::CommandResult q8 = test::run_tenbin(
      "run -m " + test::shared_path("models/synthetic/mini-llama-random-f16.gguf") +
      " -p 'Once upon a time' -n 8 --temp 0 --threads 2 --kv-type q8_0");
  EXPECT_EQ(q8.exit_code, 0) << q8.output;
  EXPECT_NE(q8.output.find("tokens/s"), std::string::npos) << q8.output;

  test::CommandResult small =
      test::run_tenbin("run -m " + test::shared_path("models/stories260K.gguf") +
                       " -p 'Once' -n 4 --kv-cache-dtype q8_0");
  EXPECT_EQ(small.exit_code, 1);
  EXPECT_NE(small.output.find("head size 8 is not a multiple of 32 (use --kv-type f16)"),
            std::string::npos)
      << small.output;

  test::CommandResult unknown = test::run_tenbin(
      "run -m " + test::shared_path("models/stories260K.gguf") + " -p 'Once' -n 4 --kv-type q4_0");
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.output.find("q4_0"), std::string::npos) << unknown.output;
  EXPECT_NE(unknown.output.find("q8_0"), std::string::npos) << unknown.output;
}

}  // namespace
}  // namespace tenbin
