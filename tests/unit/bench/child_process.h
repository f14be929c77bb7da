// Test helper: runs the built `tenbin` binary as a child process with stdout and stderr sent
// to files, so a test can wait for a line (`tenbin serve`'s "ready: ... on http://..."), send
// it a signal (Ctrl-C) and collect its exit code. The child is killed if still running when
// the object goes away.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "unit/test_util.h"

namespace tenbin::bench::testing {

class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& args) {
    out_path_ = dir_.file("stdout");
    err_path_ = dir_.file("stderr");
    std::vector<std::string> argv_storage = {test::tenbin_binary()};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : argv_storage) argv.push_back(a.data());
      argv.push_back(nullptr);
      if (!std::freopen(out_path_.c_str(), "w", stdout)) ::_exit(126);
      if (!std::freopen(err_path_.c_str(), "w", stderr)) ::_exit(126);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~ChildProcess() {
    if (pid_ > 0 && !exit_code_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  std::string out() const { return read(out_path_); }
  std::string err() const { return read(err_path_); }
  void signal(int sig) const { ::kill(pid_, sig); }

  // Waits until a stderr line contains `marker` and then an "http://" URL; returns the URL.
  std::optional<std::string> wait_for_url(const std::string& marker, std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      const std::string text = err();
      const size_t at = text.find(marker);
      const size_t line_end = at == std::string::npos ? at : text.find('\n', at);
      if (line_end != std::string::npos) {
        const std::string line = text.substr(at, line_end - at);
        const size_t url = line.find("http://");
        if (url != std::string::npos) {
          return line.substr(url, line.find_first_of(" \t", url) - url);
        }
      }
      if (poll_exit()) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return std::nullopt;
  }

  // The exit code (-1 for a signal), or nullopt when it did not end within `limit`.
  std::optional<int> wait(std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!poll_exit() && std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return exit_code_;
  }

 private:
  bool poll_exit() {
    if (exit_code_) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      return true;
    }
    return false;
  }
  static std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  test::TempDir dir_;
  std::string out_path_, err_path_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

}  // namespace tenbin::bench::testing
