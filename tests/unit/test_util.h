// Shared helpers for unit tests: a self-removing temporary directory, a scoped environment
// variable, and running the built `tenbin` binary with its output and exit code captured, as a user
// at a shell would see them. Header-only; include it as "unit/test_util.h".
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "unit/test_data.h"

namespace tenbin::test {

// Sets (or with nullopt unsets) an environment variable and restores it when destroyed.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A fresh directory under the system temp directory (unique per process and instance), removed
// with everything in it when the object goes out of scope.
class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("tenbin-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path() const { return path_.string(); }

  // The path of `name` inside the directory (the file is not created).
  std::string file(const std::string& name) const { return (path_ / name).string(); }

  // Writes `bytes` to `name` inside the directory and returns its path.
  std::string write(const std::string& name, const std::vector<uint8_t>& bytes) const {
    const std::string path = file(name);
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    return path;
  }

 private:
  static inline std::atomic<int> counter_{0};
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;  // -1 when the command could not be started or did not exit normally
  std::string output;  // stdout, plus stderr when merged
  std::string error;   // stderr, when not merged
};

// Wraps `s` in single quotes for the shell, so paths with spaces or quotes pass through intact.
inline std::string shell_quote(const std::string& s) {
  std::string quoted = "'";
  for (char c : s) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

// Runs `tenbin <args>` through the shell (`args` is shell text: quote paths yourself) and waits
// for it. With `merge_stderr`, stderr is interleaved into `output`; otherwise `output` holds
// stdout alone and stderr is captured separately into `error`.
inline CommandResult run_tenbin(const std::string& args, bool merge_stderr = true) {
  CommandResult r;
  std::string err_path;
  std::string cmd = shell_quote(tenbin_binary()) + " " + args;
  if (merge_stderr) {
    cmd += " 2>&1";
  } else {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "tenbin-stderr-XXXXXX").string();
    const int fd = ::mkstemp(pattern.data());
    if (fd < 0) return r;
    ::close(fd);
    err_path = pattern;
    cmd += " 2>" + shell_quote(err_path);
  }
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe != nullptr) {
    std::array<char, 4096> buf{};
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
    const int status = ::pclose(pipe);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  if (!err_path.empty()) {
    std::ifstream in(err_path, std::ios::binary);
    r.error.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    std::error_code ignored;
    std::filesystem::remove(err_path, ignored);
  }
  return r;
}

}  // namespace tenbin::test
