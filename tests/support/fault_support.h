// Helpers for the fault and load tests (tests/server/crash_ingest_test.cpp, stream_soak_test.cpp,
// chaos_provider_test.cpp): a `chaja` child process that can be killed with any signal and whose
// memory can be read, a streamed request bounded by a deadline and classified by how it ended,
// and a scrape of /metrics. Like chaja_process.h, nothing here links Chaja code.
#pragma once

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "chaja_process.h"

namespace chaja::test {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The resident set of a process in KiB (VmRSS of /proc/PID/status); -1 when it is gone.
inline long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// `chaja ARGS...` as a child with only `env` (and PATH) in its environment, stdout and stderr
// to `log`. Unlike Serve it can be sent any signal (kill -9) and shows its pid; SIGKILL and a
// reap on destruction if still running.
class ChajaProcess {
 public:
  ChajaProcess(const std::vector<std::string>& env, const std::vector<std::string>& chaja_args,
               const std::string& log) {
    std::vector<std::string> args = {"/usr/bin/env", "-i", "PATH=/usr/bin:/bin"};
    args.insert(args.end(), env.begin(), env.end());
    args.emplace_back(CHAJA_BINARY);
    args.insert(args.end(), chaja_args.begin(), chaja_args.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd < 0) ::_exit(126);
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~ChajaProcess() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  ChajaProcess(const ChajaProcess&) = delete;
  ChajaProcess& operator=(const ChajaProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return true;
    pid_ = -1;
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  void signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  // Waits up to `limit`; the exit status (WEXITSTATUS, or 128 + signal), -1 while still running.
  int wait_exit(std::chrono::milliseconds limit) {
    const auto end = Clock::now() + limit;
    while (running()) {
      if (Clock::now() > end) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return exit_status_;
  }
  // SIGKILL, then the reap: what kill -9 leaves behind.
  void kill9() {
    signal(SIGKILL);
    REQUIRE(wait_exit(std::chrono::seconds(10)) == 128 + SIGKILL);
  }

 private:
  pid_t pid_ = -1;
  int exit_status_ = -1;
};

// `chaja serve` on a free loopback port as a ChajaProcess, ready (GET /healthz answered) when
// constructed.
class KillableServe {
 public:
  KillableServe(const std::vector<std::string>& env, const std::string& data,
                const std::string& log)
      : port_(free_port()),
        process_(env, {"serve", "--port", std::to_string(port_), "--data", data}, log) {
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(0, 200'000);
    c.set_read_timeout(1, 0);
    for (int i = 0; i < 1000; ++i) {
      if (auto r = c.Get("/healthz"); r && r->status == 200) return;
      if (!process_.running()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    INFO(read_file(log));
    FAIL("chaja serve did not start");
  }
  int port() const { return port_; }
  pid_t pid() const { return process_.pid(); }
  ChajaProcess& process() { return process_; }
  httplib::Client client(int read_timeout_s = 10) const {
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(2, 0);
    c.set_read_timeout(read_timeout_s, 0);
    return c;
  }
  // SIGTERM and the exit status (the server drains its streams first).
  int stop() {
    process_.signal(SIGTERM);
    return process_.wait_exit(std::chrono::seconds(30));
  }

 private:
  int port_;
  ChajaProcess process_;
};

// How one request ended, from the client's side.
struct StreamOutcome {
  int status = 0;  // HTTP status; 0 when no response came
  bool transport_error = false;
  bool abandoned = false;     // the client hung up after the first event, as asked
  bool hung = false;          // the deadline passed before the response ended
  bool done = false;          // a complete answer: `done` (ask) or `[DONE]` after a final chunk
  bool error_event = false;   // an SSE error event (ask) or a `data: {"error":...}` frame
  bool error_json = false;    // a non-2xx response with an {"error": ...} JSON body
  bool answer_json = false;   // a 200 JSON answer (not streamed)
  double first_event_s = -1;  // time to the first SSE frame that is not a comment
  double total_s = 0;
  std::string body;

  // A clear ending: an answer, or an error the client can read.
  bool clear() const {
    return !hung && !transport_error && (done || error_event || error_json || answer_json);
  }
};

// POSTs `body` to `path` and reads the whole response, giving up at `deadline` (the request
// then counts as hung); with `abandon`, hangs up once the first event has come (a client that
// leaves mid-stream). Streamed bodies are classified by their SSE frames: Chaja's `done` and
// `error` events for /v1/ask, OpenAI's chunks, error frames and `[DONE]` for
// /v1/chat/completions.
inline StreamOutcome post_bounded(int port, const std::string& path, const std::string& body,
                                  std::chrono::milliseconds deadline, bool abandon = false) {
  StreamOutcome out;
  const auto t0 = Clock::now();
  const auto end = t0 + deadline;
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(5, 0);
  // Between two reads; a stream sends a keep-alive comment every second while it waits.
  const auto read_s =
      std::max<long>(1, std::chrono::duration_cast<std::chrono::seconds>(deadline).count());
  c.set_read_timeout(std::min<long>(read_s, 10), 0);
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.headers.emplace("Content-Type", "application/json");
  req.body = body;
  bool past_deadline = false;
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (out.first_event_s < 0) {
      // A first frame that is not only ": keep-alive" comments.
      out.body.append(data, n);
      size_t pos = 0;
      while (pos < out.body.size()) {
        const size_t eol = out.body.find('\n', pos);
        const std::string line = out.body.substr(pos, eol == std::string::npos ? eol : eol - pos);
        if (!line.empty() && line[0] != ':') {
          out.first_event_s = seconds_since(t0);
          break;
        }
        if (eol == std::string::npos) break;
        pos = eol + 1;
      }
    } else {
      out.body.append(data, n);
    }
    if (Clock::now() > end) {
      past_deadline = true;
      return false;
    }
    if (abandon && out.first_event_s >= 0) {
      out.abandoned = true;
      return false;
    }
    return true;
  };
  auto res = c.send(req);
  out.total_s = seconds_since(t0);
  if (past_deadline || Clock::now() > end) out.hung = true;
  if (out.abandoned) return out;
  if (!res) {
    // A read timeout while the deadline has not passed is still no clear ending.
    out.transport_error = !out.hung;
    return out;
  }
  out.status = res->status;
  const std::string type = res->get_header_value("Content-Type");
  if (type.rfind("text/event-stream", 0) == 0) {
    if (path == "/v1/ask") {
      for (const SseEvent& e : parse_sse(out.body)) {
        out.done = out.done || e.event == "done";
        out.error_event = out.error_event || e.event == "error";
      }
    } else {
      bool final_chunk = false;
      size_t pos = 0;
      while (pos < out.body.size()) {
        size_t eol = out.body.find('\n', pos);
        if (eol == std::string::npos) eol = out.body.size();
        const std::string line = out.body.substr(pos, eol - pos);
        pos = eol + 1;
        if (line.rfind("data: ", 0) != 0) continue;
        const std::string data = line.substr(6);
        if (data == "[DONE]") {
          out.done = final_chunk;
          continue;
        }
        const json j = json::parse(data, nullptr, false);
        if (j.is_object() && j.contains("error")) out.error_event = true;
        if (j.is_object() && j.contains("choices") && !j["choices"].empty() &&
            j["choices"][0].value("finish_reason", json()).is_string())
          final_chunk = true;
      }
    }
    return out;
  }
  const json j = json::parse(out.body, nullptr, false);
  if (res->status >= 400) {
    out.error_json = j.is_object() && j.contains("error");
  } else if (res->status == 200 && j.is_object()) {
    // /v1/ask: {"answer": ...}; /v1/chat/completions: {"choices": [{"message": ...}]}.
    out.answer_json =
        (j.contains("answer") && j["answer"].is_string()) ||
        (j.contains("choices") && !j["choices"].empty() && j["choices"][0].contains("message"));
  }
  return out;
}

// A gauge or counter from the Prometheus text of GET /metrics ("name value" or
// "name{labels} value"); -1 when absent.
inline double metric_value(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name, 0) != 0 || line.size() <= name.size()) continue;
    const char next = line[name.size()];
    if (next != ' ' && next != '{') continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return -1;
}

// The median of a sample (a copy is sorted); 0 for none.
template <typename T>
double median_of(std::vector<T> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? static_cast<double>(v[n / 2])
               : (static_cast<double>(v[n / 2 - 1]) + static_cast<double>(v[n / 2])) / 2;
}

// The q-quantile (0..1) of a sample, nearest rank.
template <typename T>
double quantile_of(std::vector<T> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(q * static_cast<double>(v.size()));
  if (i >= v.size()) i = v.size() - 1;
  return static_cast<double>(v[i]);
}

}  // namespace chaja::test
