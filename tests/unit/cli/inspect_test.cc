// Runs the real `tenbin inspect` binary on a good and on bad GGUF files and checks the exit
// code, stdout and stderr as a user would see them.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "unit/gguf/gguf_test_bytes.h"
#include "unit/test_data.h"

extern char** environ;

namespace tenbin {
namespace {

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `tenbin <args>` with stdout and stderr captured through files in `dir`.
ProcessResult run_tenbin(const std::vector<std::string>& args, const std::string& dir) {
  const std::string out_path = dir + "/stdout.txt";
  const std::string err_path = dir + "/stderr.txt";
  std::vector<std::string> argv_strings = {test::tenbin_binary()};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  ProcessResult result;
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    ADD_FAILURE() << "cannot start " << argv[0] << ": error " << rc;
    return result;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  auto slurp = [](const std::string& path) {
    std::vector<uint8_t> bytes = test::read_file_bytes(path);
    return std::string(bytes.begin(), bytes.end());
  };
  result.out = slurp(out_path);
  result.err = slurp(err_path);
  return result;
}

class TempFolder {
 public:
  TempFolder()
      : path_(std::filesystem::temp_directory_path() /
              ("tenbin-inspect-test-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~TempFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

TEST(InspectCli, RealModel) {
  TempFolder dir;
  ProcessResult r =
      run_tenbin({"inspect", test::shared_path("models/stories260K.gguf")}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
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
    EXPECT_NE(r.out.find(expected), std::string::npos) << "missing: " << expected << "\n" << r.out;
  }
}

TEST(InspectCli, BadFiles) {
  TempFolder dir;
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
    ProcessResult r = run_tenbin({"inspect", path}, dir.path());
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  ProcessResult missing = run_tenbin({"inspect", dir.path() + "/absent.gguf"}, dir.path());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("absent.gguf: cannot open"), std::string::npos) << missing.err;
  ProcessResult no_arg = run_tenbin({"inspect"}, dir.path());
  EXPECT_EQ(no_arg.exit_code, 1);
}

}  // namespace
}  // namespace tenbin
