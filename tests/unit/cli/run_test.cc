// `tenbin run` as a user runs it: the real binary, greedy, on the trained stories260K model.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "test_data.h"

namespace tenbin {
namespace {

struct Result {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

Result run_command(const std::string& args) {
  Result r;
  std::string cmd = test::tenbin_binary() + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(RunCommand, GreedyStoryMatchesReferenceText) {
  Result r = run_command("run -m " + test::shared_path("models/stories260K.gguf") +
                         " -p 'Once upon a time' -n 24 --temp 0 --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Once upon a time, there was a little girl named Lily."),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("tokens/s"), std::string::npos) << r.output;
}

TEST(RunCommand, MissingModelIsAClearError) {
  Result r = run_command("run -m /nonexistent/model.gguf -n 4");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("/nonexistent/model.gguf"), std::string::npos) << r.output;
}

TEST(RunCommand, PromptLongerThanContextIsRefused) {
  Result r = run_command("run -m " + test::shared_path("models/stories260K.gguf") +
                         " -p 'Once upon a time there was a little girl' --ctx 4 -n 4");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("raise --ctx"), std::string::npos) << r.output;
}

TEST(RunCommand, SeededSamplingIsReproducible) {
  const std::string args = "run -m " + test::shared_path("models/stories260K.gguf") +
                           " -p 'Lily' -n 16 --temp 0.9 --seed 5 --threads 1";
  Result a = run_command(args);
  Result b = run_command(args);
  ASSERT_EQ(a.exit_code, 0) << a.output;
  auto text = [](const std::string& s) { return s.substr(s.find("Lily")); };
  EXPECT_EQ(text(a.output).substr(0, 40), text(b.output).substr(0, 40));
}

}  // namespace
}  // namespace tenbin
