// Runs the real `tenbin inspect` binary on a good and on bad GGUF files and checks the exit
// code, stdout and stderr as a user would see them.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "unit/gguf/gguf_test_bytes.h"
#include "unit/test_util.h"

namespace tenbin {
namespace {

TEST(InspectCli, RealModel) {
  test::CommandResult r = test::run_tenbin(
      "inspect " + test::shell_quote(test::shared_path("models/stories260K.gguf")), false);
  ASSERT_EQ(r.exit_code, 0) << r.error;
  EXPECT_EQ(r.error, "");
  for (const char* expected : {
           "GGUF version:    3\n",
           "alignment:       32\n",
           "architecture:    llama\n",
           "llama.embedding_length",
           "llama.attention.head_count_kv",
           "  model:           \"llama\"\n",
           "  vocab size:      512\n",
           "  merges:          (none)\n",
           "  bos id:          1\n",
           "  eos id:          2\n",
           "  chat template:   no\n",
           "string[512]     [\"<unk>\", \"<s>\", \"</s>\",",
           "token_embd.weight",
           "[64, 512]",
           "tensors (48):",
           "total: 48 tensors, 292800 params, 1171200 bytes, 32.00 bits per weight",
       }) {
    EXPECT_NE(r.output.find(expected), std::string::npos) << "missing: " << expected << "\n"
                                                          << r.output;
  }
}

TEST(InspectCli, BadFiles) {
  test::GgufBytes magic = test::minimal_gguf();
  magic.bytes[0] = 'X';
  test::GgufBytes version = test::minimal_gguf(1);
  test::GgufBytes cut = test::minimal_gguf();
  cut.bytes.resize(cut.bytes.size() - 8);
  struct Case {
    const char* name;
    const std::vector<uint8_t>& bytes;
    const char* message;
  };
  const Case cases[] = {
      {"magic.gguf", magic.bytes, "bad magic"},
      {"version.gguf", version.bytes, "version 1 is not supported"},
      {"cut.gguf", cut.bytes, "tensor 'w' extends past end of file"},
  };
  test::TempDir files;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = files.write(c.name, c.bytes);
    test::CommandResult r = test::run_tenbin("inspect " + test::shell_quote(path), false);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.output, "");
    EXPECT_NE(r.error.find(path), std::string::npos) << r.error;
    EXPECT_NE(r.error.find(c.message), std::string::npos) << r.error;
  }
  test::CommandResult missing =
      test::run_tenbin("inspect " + test::shell_quote(files.path() + "/absent.gguf"), false);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.error.find("absent.gguf: cannot open"), std::string::npos) << missing.error;
  test::CommandResult no_arg = test::run_tenbin("inspect", false);
  EXPECT_EQ(no_arg.exit_code, 1);
}

}  // namespace
}  // namespace tenbin
