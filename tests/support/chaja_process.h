// Helpers for black-box tests of the real `chaja` binary (tests/server/): run a command with a
// clean environment, start `chaja serve` on a free loopback port, read SSE bodies. Nothing here
// links Chaja code; CHAJA_BINARY names the binary (tests/CMakeLists.txt).
#pragma once

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace chaja::test {

namespace fs = std::filesystem;
using json = nlohmann::json;

inline std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A directory under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "chaja-e2e-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

struct Run {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
  long long ms = 0;
};

// Runs the chaja binary with only `env` (and PATH) in its environment.
inline Run run(const std::string& env, const std::string& args) {
  TempDir tmp;
  const std::string err_file = tmp / "stderr";
  const std::string cmd = "env -i PATH=/usr/bin:/bin " + env + " '" + CHAJA_BINARY + "' " + args +
                          " 2>'" + err_file + "'";
  Run r;
  const auto t0 = std::chrono::steady_clock::now();
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = read_file(err_file);
  return r;
}

inline std::string describe(const Run& r) {
  return "exit " + std::to_string(r.exit_code) + " in " + std::to_string(r.ms) +
         " ms\nstdout: " + r.out + "\nstderr: " + r.err;
}

inline bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// "[n]", as the answer cites and the sources list numbers.
inline std::string marker(int n) {
  std::string m = "[";
  m += std::to_string(n);
  m += ']';
  return m;
}

inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  REQUIRE(ok);
  return ntohs(addr.sin_port);
}

// `chaja serve` with only `env` in its environment, on a free loopback port, its output in
// `log`; SIGTERM on destruction.
class Serve {
 public:
  Serve(const std::vector<std::string>& env, const std::string& data,
        const std::string& log = "/dev/null") {
    port_ = free_port();
    std::vector<std::string> args = {"/usr/bin/env", "-i", "PATH=/usr/bin:/bin"};
    args.insert(args.end(), env.begin(), env.end());
    for (const char* a : {CHAJA_BINARY, "serve", "--port"}) args.emplace_back(a);
    args.push_back(std::to_string(port_));
    args.push_back("--data");
    args.push_back(data);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      if (!::freopen(log.c_str(), "w", stdout)) ::_exit(126);
      ::dup2(STDOUT_FILENO, STDERR_FILENO);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(0, 200'000);
    c.set_read_timeout(1, 0);
    for (int i = 0; i < 500; ++i) {
      if (auto r = c.Get("/healthz"); r && r->status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    INFO(read_file(log));
    FAIL("chaja serve did not start");
  }
  ~Serve() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  Serve(const Serve&) = delete;
  Serve& operator=(const Serve&) = delete;

  // Sends SIGTERM now without waiting (the destructor or wait_exit reaps it).
  void terminate() const { ::kill(pid_, SIGTERM); }
  // Waits up to `limit` for the process to exit; its exit status (WEXITSTATUS, or 128 + signal),
  // or -1 if it is still running.
  int wait_exit(std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (pid_ > 0) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (std::chrono::steady_clock::now() > end) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }
  int port() const { return port_; }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10, 0);
    return c;
  }

 private:
  int port_ = 0;
  pid_t pid_ = -1;
};

inline json parse_json(const Run& r) {
  INFO(describe(r));
  json j = json::parse(r.out, nullptr, false);
  REQUIRE(j.is_object());
  return j;
}

// One SSE frame: its event name and data.
struct SseEvent {
  std::string event;
  std::string data;
};

inline std::vector<SseEvent> parse_sse(const std::string& body) {
  std::vector<SseEvent> events;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) end = body.size();
    std::istringstream frame(body.substr(pos, end - pos));
    SseEvent e;
    for (std::string line; std::getline(frame, line);) {
      if (line.rfind("event: ", 0) == 0) e.event = line.substr(7);
      if (line.rfind("data: ", 0) == 0) e.data += line.substr(6);
    }
    if (!e.event.empty()) events.push_back(std::move(e));
    pos = end + 2;
  }
  return events;
}

}  // namespace chaja::test
