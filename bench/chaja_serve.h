// Running the real `chaja` binary from a benchmark (bench_load, bench_ttft): a temporary data
// folder, `chaja index`, and `chaja serve` on a free loopback port with a clean environment,
// waited for on /healthz and stopped with SIGTERM. Like tests/support/chaja_process.h, without
// Catch2: failures are returned as messages, and the benchmark exits with them.
#pragma once

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace chaja::bench {

namespace fs = std::filesystem;

inline std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A whole decimal number in [lo, hi] (a command-line value), or nothing.
inline std::optional<int> int_in(const std::string& s, int lo, int hi) {
  char* end = nullptr;
  const long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v < lo || v > hi) return std::nullopt;
  return static_cast<int>(v);
}

// The last `n` bytes of a log, for error messages.
inline std::string tail(const std::string& s, size_t n = 2000) {
  return s.size() <= n ? s : s.substr(s.size() - n);
}

// A directory under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "chaja-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      std::exit(1);
    }
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A port that was free a moment ago (bound to 0, read back, released).
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  return ok ? ntohs(addr.sin_port) : 0;
}

// Starts argv[0] with exactly `env` as its environment, stdout and stderr into `log`.
inline pid_t spawn(const std::vector<std::string>& args, const std::vector<std::string>& env,
                   const fs::path& log) {
  std::vector<std::string> a = args, e = env;
  std::vector<char*> argv, envp;
  for (std::string& s : a) argv.push_back(s.data());
  for (std::string& s : e) envp.push_back(s.data());
  argv.push_back(nullptr);
  envp.push_back(nullptr);
  // The child must not inherit (and write out again) what our stdout holds in its buffer.
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (!::freopen(log.c_str(), "w", stdout)) ::_exit(126);
    ::dup2(STDOUT_FILENO, STDERR_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

// Runs a command to completion; its exit status, or -1 if it did not exit normally.
inline int run_to_end(const std::vector<std::string>& args, const std::vector<std::string>& env,
                      const fs::path& log) {
  const pid_t pid = spawn(args, env, log);
  if (pid < 0) return -1;
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// `chaja serve --port P --data DATA [extra...]` with only PATH and `env` in its environment
// (no provider keys leak in from the caller's), its output in `log`. SIGTERM on destruction.
class ChajaServer {
 public:
  ChajaServer() = default;
  ChajaServer(const ChajaServer&) = delete;
  ChajaServer& operator=(const ChajaServer&) = delete;
  ~ChajaServer() { stop(); }

  // Starts it and waits up to 20 s for GET /healthz to answer 200; the error otherwise.
  std::optional<std::string> start(const std::string& binary, const fs::path& data,
                                   const std::vector<std::string>& extra_args,
                                   std::vector<std::string> env, const fs::path& log) {
    port_ = free_port();
    if (port_ == 0) return "no free port";
    std::vector<std::string> args = {binary,   "serve",      "--port", std::to_string(port_),
                                     "--data", data.string()};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    env.insert(env.begin(), "PATH=/usr/bin:/bin");
    pid_ = spawn(args, env, log);
    if (pid_ < 0) return "cannot fork";
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(0, 200'000);
    c.set_read_timeout(1, 0);
    for (int i = 0; i < 2000; ++i) {
      if (auto r = c.Get("/healthz"); r && r->status == 200) return std::nullopt;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return "chaja serve exited:\n" + tail(slurp(log));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return "chaja serve did not answer /healthz within 20 s:\n" + tail(slurp(log));
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_ = 0;
  pid_t pid_ = -1;
};

// The `chaja` binary beside this benchmark's (both are built into the same tree: bench/ and
// agent/), unless given.
inline std::string default_chaja(const char* argv0) {
  std::error_code ec;
  const fs::path self = fs::canonical("/proc/self/exe", ec);
  const fs::path dir = ec ? fs::path(argv0).parent_path() : self.parent_path();
  for (const fs::path& p :
       {dir / "chaja", dir.parent_path() / "agent" / "chaja", dir.parent_path() / "chaja"})
    if (fs::exists(p)) return p.string();
  return (dir.parent_path() / "agent" / "chaja").string();
}

}  // namespace chaja::bench
