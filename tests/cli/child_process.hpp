// Runs the `presence` command as a child process, as CI and shells do, capturing its output.
#pragma once

#include <signal.h>
#include <spawn.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace presence::testing {

struct ChildResult {
  int exitCode = -1;
  std::string out, err;
};

class ChildProcess {
 public:
  /// Starts `args[0]` with `args`, extra environment entries "NAME=value", stdout and stderr
  /// going to files in `folder`.
  ChildProcess(const std::vector<std::string>& args, const std::vector<std::string>& env,
               const std::filesystem::path& folder)
      : outFile_(folder / "child.stdout"), errFile_(folder / "child.stderr") {
    std::filesystem::create_directories(folder);
    std::vector<std::string> envStrings;
    for (char** e = environ; *e; ++e) envStrings.emplace_back(*e);
    for (const auto& e : env) envStrings.push_back(e);
    std::vector<char*> argv, envp;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : envStrings) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, outFile_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, errFile_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data()) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }

  bool started() const { return pid_ > 0; }
  void signal(int sig) const { ::kill(pid_, sig); }
  std::string stdoutSoFar() const { return read(outFile_); }

  /// Waits until stdout contains `text` (true) or `timeout` passes (false).
  bool waitForOutput(const std::string& text, std::chrono::seconds timeout) const {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (stdoutSoFar().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  ChildResult wait() {
    ChildResult r;
    int status = 0;
    if (pid_ > 0 && ::waitpid(pid_, &status, 0) == pid_) {
      if (WIFEXITED(status)) r.exitCode = WEXITSTATUS(status);
      else if (WIFSIGNALED(status)) r.exitCode = 128 + WTERMSIG(status);
    }
    pid_ = -1;
    r.out = read(outFile_);
    r.err = read(errFile_);
    return r;
  }

  ~ChildProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

 private:
  static std::string read(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  pid_t pid_ = -1;
  std::filesystem::path outFile_, errFile_;
};

inline ChildResult runChild(const std::vector<std::string>& args, const std::vector<std::string>& env,
                            const std::filesystem::path& folder) {
  ChildProcess child(args, env, folder);
  return child.wait();
}

}  // namespace presence::testing
