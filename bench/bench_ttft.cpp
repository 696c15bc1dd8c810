// bench_ttft: the time to first token Chaja adds to an LLM's. A replayed OpenAI-compatible LLM on
// 127.0.0.1 streams every answer with fixed delays (first token after --upstream-ttft ms, then one
// every --token-ms), and records for each call when it arrived and when it sent its first and last
// content bytes. The same questions are then asked
//   - directly of the replayed LLM (the baseline: what a client sees without Chaja),
//   - through `chaja serve` (openai-compat provider pointed at it), POST /v1/ask with
//     "stream": true (time to the first `delta` event), and
//   - through POST /v1/chat/completions with "stream": true (the first chunk with content),
// one at a time and at a few concurrencies. Added TTFT = client TTFT - the upstream TTFT of the
// answer's own LLM call, the same request's, both measured in this process on one clock.
//
//   bench_ttft [--chaja PATH] [--questions N] [--full] [--concurrency 1,8]
//              [--upstream-ttft MS] [--token-ms MS] [--tokens N] [--json]
//
// The added time is split: "before": from the request to the answer call's arrival upstream
// (retrieval, prompt building, and Chaja's helper LLM calls: the search plan and the bridge check,
// each a full upstream call with the same delays, listed as "helpers"); "relay": from the
// upstream's first content byte to the client's first token (the streaming path). The server's own
// retrieval time (timings.retrieval_ms of /v1/ask's done event, which includes the helper calls)
// is shown too. Time to last token and the median gap between tokens, through Chaja against the
// upstream's, say whether Chaja adds latency per token.
//
// The collection is docs/sample (indexed with `chaja index`); the questions are those of
// tests/fixtures/queries_ko_en.tsv (Korean and English), each tagged "(qN)" so that the replayed
// LLM can tell which request a call belongs to.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/chaja_serve.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace chaja::bench;

double ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

struct Args {
  std::string chaja;
  size_t questions = 30;
  std::vector<int> concurrency = {1, 8};
  int upstream_ttft_ms = 200;
  int token_ms = 20;
  int tokens = 30;
  bool json = false;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: bench_ttft [--chaja PATH] [--questions N] [--full] [--concurrency 1,8] "
               "[--upstream-ttft MS] [--token-ms MS] [--tokens N] [--json]\n");
  std::exit(2);
}

int number(const std::string& s, int lo, int hi) {
  const auto v = chaja::bench::int_in(s, lo, hi);
  if (!v) usage();
  return *v;
}

Args parse_args(int argc, char** argv) {
  Args a;
  a.chaja = default_chaja(argv[0]);
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--json") {
      a.json = true;
    } else if (k == "--full") {
      a.questions = 200;
    } else if (i + 1 >= argc) {
      usage();
    } else if (k == "--chaja") {
      a.chaja = argv[++i];
    } else if (k == "--questions") {
      a.questions = static_cast<size_t>(number(argv[++i], 1, 100000));
    } else if (k == "--upstream-ttft") {
      a.upstream_ttft_ms = number(argv[++i], 0, 60000);
    } else if (k == "--token-ms") {
      a.token_ms = number(argv[++i], 0, 10000);
    } else if (k == "--tokens") {
      a.tokens = number(argv[++i], 1, 10000);
    } else if (k == "--concurrency") {
      a.concurrency.clear();
      std::stringstream list(argv[++i]);
      for (std::string item; std::getline(list, item, ',');)
        a.concurrency.push_back(number(item, 1, 64));
      if (a.concurrency.empty()) usage();
    } else {
      usage();
    }
  }
  return a;
}

// --- the replayed LLM ---------------------------------------------------------------------------

// What a call to the LLM was, told by its prompt (prompts/*.txt).
enum class CallKind { kAnswer, kPlan, kBridge, kRelated, kRewrite };

struct UpstreamCall {
  long tag = -1;  // the N of "(qN)" in the prompt, -1 if none
  CallKind kind = CallKind::kAnswer;
  Clock::time_point arrived, first_byte, last_byte;
};

// An OpenAI-compatible chat completions server with fixed delays. Every call, answer or helper,
// waits `ttft` before its first content, then sends one token every `gap`; streamed (SSE, as
// tests/fixtures/openai/chat_stream_include_usage.sse) or whole, as the request asks.
// Thread-safe; calls() may be read while serving.
class ReplayLlm {
 public:
  ReplayLlm(std::chrono::milliseconds ttft, std::chrono::milliseconds gap, int tokens)
      : ttft_(ttft), gap_(gap) {
    // About `tokens` tokens of a cited answer.
    const char* words[] = {"The ",    "answer ", "is ",   "in ",      "the ",    "first ",
                           "source ", "[1]. ",   "It ",   "also ",    "names ",  "the ",
                           "date ",   "and ",    "the ",  "place ",   "[2]. ",   "A ",
                           "third ",  "source ", "adds ", "context ", "[1][3]. "};
    for (int i = 0; i < tokens; ++i) answer_.push_back(words[i % std::size(words)]);
    server_.new_task_queue = [] { return new httplib::ThreadPool(96); };
    server_.set_tcp_nodelay(true);
    server_.set_socket_options([this](socket_t sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
      listen_fd_ = sock;
    });
    server_.Post("/v1/chat/completions",
                 [this](const httplib::Request& req, httplib::Response& res) { serve(req, res); });
    server_.Get("/v1/models", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"object":"list","data":[{"id":"replay","object":"model"}]})",
                      "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    // httplib listens with a backlog of 5 (DEPS.md): concurrent connects would wait for SYN
    // retries, a second or more, and that would be counted as TTFT.
    if (port_ > 0 && listen_fd_ >= 0) ::listen(listen_fd_, 1024);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (port_ > 0 && !server_.is_running())
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ~ReplayLlm() {
    server_.stop();
    thread_.join();
  }
  ReplayLlm(const ReplayLlm&) = delete;
  ReplayLlm& operator=(const ReplayLlm&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  std::vector<UpstreamCall> calls() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return calls_;
  }

 private:
  static std::string frame(const std::string& content, bool first, bool stop) {
    json delta = json::object();
    if (first) delta["role"] = "assistant";
    if (!stop) delta["content"] = content;
    json chunk = {{"id", "chatcmpl-replay"},
                  {"object", "chat.completion.chunk"},
                  {"created", 1727346168},
                  {"model", "replay"},
                  {"choices",
                   {{{"index", 0},
                     {"delta", delta},
                     {"logprobs", nullptr},
                     {"finish_reason", stop ? json("stop") : json(nullptr)}}}}};
    return "data: " + chunk.dump() + "\n\n";
  }

  void serve(const httplib::Request& req, httplib::Response& res) {
    UpstreamCall call;
    call.arrived = Clock::now();
    const json body = json::parse(req.body, nullptr, false);
    // Helper prompts (prompts/*.txt) are the system message, the first; the question is in the
    // user's.
    std::string system, prompt;
    if (body.is_object() && body.contains("messages") && body["messages"].is_array())
      for (const json& m : body["messages"])
        if (m.is_object() && m.contains("content") && m["content"].is_string()) {
          if (prompt.empty() && m.value("role", "") == "system") system = m["content"];
          prompt += m["content"].get<std::string>() + "\n";
        }
    if (system.rfind("You plan the searches", 0) == 0)
      call.kind = CallKind::kPlan;
    else if (system.rfind("You decide whether answering", 0) == 0)
      call.kind = CallKind::kBridge;
    else if (system.rfind("Suggest three short follow-up", 0) == 0)
      call.kind = CallKind::kRelated;
    else if (system.rfind("You turn the last question", 0) == 0)
      call.kind = CallKind::kRewrite;
    // The last "(qN)" is the question's own tag (a prompt may quote an earlier one).
    for (size_t at = prompt.rfind("(q"); at != std::string::npos && at > 0;
         at = prompt.rfind("(q", at - 1))
      if (at + 2 < prompt.size() && std::isdigit(static_cast<unsigned char>(prompt[at + 2]))) {
        call.tag = std::strtol(prompt.c_str() + at + 2, nullptr, 10);
        break;
      }

    std::vector<std::string> tokens;
    switch (call.kind) {
      case CallKind::kAnswer:
        tokens = answer_;
        break;
      case CallKind::kPlan:  // nothing beyond the question itself
        tokens = {"{\"queries\": ", "[]}"};
        break;
      case CallKind::kBridge:
        tokens = {"NONE"};
        break;
      case CallKind::kRelated:
        tokens = {"What ", "else?\n", "Why ", "so?\n", "When ", "next?"};
        break;
      case CallKind::kRewrite:
        tokens = {"the ", "question"};
        break;
    }
    const bool stream = body.is_object() && body.value("stream", false);
    if (!stream) {
      std::this_thread::sleep_for(ttft_ + gap_ * static_cast<int>(tokens.size() - 1));
      std::string text;
      for (const std::string& t : tokens) text += t;
      json whole = {{"id", "chatcmpl-replay"},
                    {"object", "chat.completion"},
                    {"created", 1727346168},
                    {"model", "replay"},
                    {"choices",
                     {{{"index", 0},
                       {"message", {{"role", "assistant"}, {"content", text}}},
                       {"finish_reason", "stop"}}}},
                    {"usage",
                     {{"prompt_tokens", 100},
                      {"completion_tokens", tokens.size()},
                      {"total_tokens", 100 + tokens.size()}}}};
      call.first_byte = call.last_byte = Clock::now();
      record(call);
      return res.set_content(whole.dump(), "application/json");
    }
    res.set_chunked_content_provider(
        "text/event-stream", [this, call, tokens](size_t, httplib::DataSink& sink) mutable {
          std::this_thread::sleep_for(ttft_);
          for (size_t i = 0; i < tokens.size(); ++i) {
            if (i > 0) std::this_thread::sleep_for(gap_);
            const std::string f = frame(tokens[i], i == 0, false);
            if (i == 0) call.first_byte = Clock::now();
            if (!sink.write(f.data(), f.size())) return false;
          }
          call.last_byte = Clock::now();
          const std::string end = frame("", false, true) + "data: [DONE]\n\n";
          sink.write(end.data(), end.size());
          sink.done();
          record(call);
          return true;
        });
  }

  void record(const UpstreamCall& call) {
    std::lock_guard<std::mutex> lock(mutex_);
    calls_.push_back(call);
  }

  std::chrono::milliseconds ttft_, gap_;
  std::vector<std::string> answer_;
  httplib::Server server_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<UpstreamCall> calls_;
};

// --- the client ---------------------------------------------------------------------------------

enum class Route { kDirect, kAsk, kChat };

struct ClientRun {
  long tag = 0;
  Clock::time_point sent;
  std::vector<Clock::time_point> tokens;  // each answer token event as it arrived
  double retrieval_ms = -1;               // /v1/ask's done.timings.retrieval_ms
  int status = 0;
  std::string error;  // "" when the stream ended well
};

// Reads an SSE body as it arrives, frame by frame.
class SseReader {
 public:
  explicit SseReader(Route route, ClientRun& run) : route_(route), run_(run) {}
  bool feed(const char* data, size_t n) {
    buffer_.append(data, n);
    for (size_t end; (end = buffer_.find("\n\n")) != std::string::npos;) {
      on_frame(buffer_.substr(0, end));
      buffer_.erase(0, end + 2);
    }
    if (raw_.size() < 4096) raw_.append(data, std::min<size_t>(n, 4096 - raw_.size()));
    return true;
  }
  bool finished() const { return finished_; }
  const std::string& raw() const { return raw_; }

 private:
  void on_frame(const std::string& frame) {
    const auto now = Clock::now();
    std::string event, data;
    std::istringstream lines(frame);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("event: ", 0) == 0) event = line.substr(7);
      if (line.rfind("data: ", 0) == 0) data += line.substr(6);
    }
    if (route_ == Route::kAsk) {
      if (event == "delta") {
        run_.tokens.push_back(now);
      } else if (event == "done") {
        finished_ = true;
        const json j = json::parse(data, nullptr, false);
        if (j.is_object() && j.contains("timings"))
          run_.retrieval_ms = j["timings"].value("retrieval_ms", -1.0);
      } else if (event == "error") {
        run_.error = "error event: " + data.substr(0, 300);
      }
      return;
    }
    if (data == "[DONE]") {
      finished_ = true;
      return;
    }
    const json j = json::parse(data, nullptr, false);
    if (!j.is_object()) return;
    if (j.contains("error")) run_.error = "error: " + data.substr(0, 300);
    if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].empty()) return;
    const json& delta = j["choices"][0].value("delta", json::object());
    if (delta.is_object() && delta.contains("content") && delta["content"].is_string() &&
        !delta["content"].get<std::string>().empty())
      run_.tokens.push_back(now);
  }

  Route route_;
  ClientRun& run_;
  std::string buffer_, raw_;
  bool finished_ = false;
};

ClientRun ask_once(Route route, int port, long tag, const std::string& question) {
  ClientRun run;
  run.tag = tag;
  httplib::Request req;
  req.method = "POST";
  json body;
  if (route == Route::kAsk) {
    req.path = "/v1/ask";
    body = {{"query", question}, {"stream", true}};
  } else if (route == Route::kChat) {
    req.path = "/v1/chat/completions";
    body = {{"model", "chaja"},
            {"stream", true},
            {"messages", {{{"role", "user"}, {"content", question}}}}};
  } else {
    // What an application would send to the LLM itself: a system prompt, the question.
    req.path = "/v1/chat/completions";
    body = {{"model", "replay"},
            {"stream", true},
            {"messages",
             {{{"role", "system"}, {"content", "Answer the question with citations."}},
              {{"role", "user"}, {"content", question}}}}};
  }
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  req.set_header("Accept", "text/event-stream");
  SseReader reader(route, run);
  req.content_receiver = [&reader](const char* data, size_t n, uint64_t, uint64_t) {
    return reader.feed(data, n);
  };
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(120, 0);
  client.set_tcp_nodelay(true);
  httplib::Response res;
  httplib::Error error = httplib::Error::Success;
  run.sent = Clock::now();
  const bool ok = client.send(req, res, error);
  run.status = res.status;
  if (!ok)
    run.error = "request failed: " + httplib::to_string(error);
  else if (res.status != 200)
    run.error = "status " + std::to_string(res.status) + ": " + reader.raw().substr(0, 300);
  else if (run.error.empty() && !reader.finished())
    run.error = "the stream ended early";
  else if (run.error.empty() && run.tokens.empty())
    run.error = "no answer token";
  return run;
}

// --- statistics ---------------------------------------------------------------------------------

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double at = p * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(at);
  const size_t hi = std::min(v.size() - 1, lo + 1);
  return v[lo] + (v[hi] - v[lo]) * (at - static_cast<double>(lo));
}

struct Sample {
  double client_ttft = 0, upstream_ttft = 0, added = 0;
  double before = 0;   // request sent -> answer call arrived upstream
  double helpers = 0;  // time covered by helper LLM calls before the answer call (overlaps once)
  double own = 0;      // added - helpers: Chaja's own work and the HTTP hops
  int helper_calls = 0;
  double relay = 0;  // upstream first content byte -> client's first token
  double client_ttlt = 0, upstream_ttlt = 0;
  double retrieval_ms = -1;
  std::vector<double> gaps;  // between the client's successive token events
  size_t tokens = 0;
};

struct Row {
  std::string mode;
  int concurrency = 0;
  size_t ok = 0, failed = 0;
  std::string first_error;
  std::vector<Sample> samples;
};

std::vector<double> pick(const Row& r, double Sample::*field) {
  std::vector<double> v;
  for (const Sample& s : r.samples)
    if (s.*field >= 0) v.push_back(s.*field);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  if (!fs::exists(args.chaja)) {
    std::fprintf(stderr, "bench_ttft: no chaja binary at %s (--chaja PATH)\n", args.chaja.c_str());
    return 1;
  }
  ReplayLlm llm(std::chrono::milliseconds(args.upstream_ttft_ms),
                std::chrono::milliseconds(args.token_ms), args.tokens);
  if (llm.port() <= 0) {
    std::fprintf(stderr, "bench_ttft: the replayed LLM cannot bind a port\n");
    return 1;
  }

  TempDir tmp;
  const fs::path data = tmp.path() / "data";
  if (run_to_end({args.chaja, "index", CHAJA_SOURCE_DIR "/docs/sample", "--data", data.string()},
                 {"PATH=/usr/bin:/bin"}, tmp.path() / "index.log") != 0) {
    std::fprintf(stderr, "bench_ttft: chaja index failed:\n%s\n",
                 tail(slurp(tmp.path() / "index.log")).c_str());
    return 1;
  }
  // Calls in flight to one provider are capped (llm.max_concurrency, 8 by default): at
  // concurrency 8 the answers and their helper calls would queue behind that cap, which measures
  // the cap rather than Chaja. It is raised so that every call goes at once.
  const fs::path config = tmp.path() / "chaja.json";
  std::ofstream(config) << json{
      {"default_model", "openai-compat:replay"},
      {"providers", {{"openai-compat", {{"base_url", llm.url()}}}}},
      {"llm", {{"max_concurrency", 64}}},
      {"server",
       {{"threads", 64}}}}.dump();
  ChajaServer server;
  if (auto err = server.start(args.chaja, data, {"--config", config.string()}, {},
                              tmp.path() / "serve.log")) {
    std::fprintf(stderr, "bench_ttft: %s\n", err->c_str());
    return 1;
  }

  std::vector<std::string> questions;
  {
    std::ifstream in(CHAJA_SOURCE_DIR "/tests/fixtures/queries_ko_en.tsv");
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line))
      if (const size_t tab = line.find('\t'); tab != std::string::npos && tab > 0)
        questions.push_back(line.substr(0, tab));
  }
  if (questions.empty()) {
    std::fprintf(stderr, "bench_ttft: no questions in tests/fixtures/queries_ko_en.tsv\n");
    return 1;
  }

  std::atomic<long> next_tag{0};
  // Runs args.questions requests of one kind, `concurrency` at a time.
  auto run_mode = [&](const char* mode, Route route, int concurrency) {
    const int port = route == Route::kDirect ? llm.port() : server.port();
    std::vector<ClientRun> runs(args.questions);
    std::atomic<size_t> next{0};
    std::vector<std::thread> workers;
    for (int w = 0; w < concurrency; ++w)
      workers.emplace_back([&] {
        for (size_t i; (i = next++) < runs.size();) {
          const long tag = next_tag++;
          runs[i] = ask_once(route, port, tag,
                             questions[i % questions.size()] + " (q" + std::to_string(tag) + ")");
        }
      });
    for (std::thread& t : workers) t.join();

    // The upstream's record of each request's calls, by tag. A stream's record is written after
    // its last byte, which the client has seen: it is there.
    std::map<long, std::vector<UpstreamCall>> by_tag;
    for (const UpstreamCall& c : llm.calls()) by_tag[c.tag].push_back(c);
    Row row;
    row.mode = mode;
    row.concurrency = concurrency;
    for (const ClientRun& r : runs) {
      const auto& calls = by_tag[r.tag];
      const auto answer = std::find_if(calls.begin(), calls.end(), [](const UpstreamCall& c) {
        return c.kind == CallKind::kAnswer;
      });
      std::string error = r.error;
      if (error.empty() && answer == calls.end()) error = "no answer call reached the LLM";
      if (!error.empty()) {
        ++row.failed;
        if (row.first_error.empty()) row.first_error = error;
        continue;
      }
      ++row.ok;
      Sample s;
      s.client_ttft = ms(r.tokens.front() - r.sent);
      s.upstream_ttft = ms(answer->first_byte - answer->arrived);
      s.added = s.client_ttft - s.upstream_ttft;
      s.before = ms(answer->arrived - r.sent);
      s.relay = ms(r.tokens.front() - answer->first_byte);
      // The time the helper calls cover: they may run side by side (the plan and the first
      // bridge check do), so overlapping calls count once.
      std::vector<std::pair<Clock::time_point, Clock::time_point>> spans;
      for (const UpstreamCall& c : calls)
        if (c.kind != CallKind::kAnswer && c.last_byte <= answer->arrived) {
          spans.emplace_back(c.arrived, c.last_byte);
          ++s.helper_calls;
        }
      std::sort(spans.begin(), spans.end());
      for (size_t i = 0; i < spans.size();) {
        auto [from, to] = spans[i];
        for (++i; i < spans.size() && spans[i].first <= to; ++i) to = std::max(to, spans[i].second);
        s.helpers += ms(to - from);
      }
      s.own = s.added - s.helpers;
      s.client_ttlt = ms(r.tokens.back() - r.sent);
      s.upstream_ttlt = ms(answer->last_byte - r.sent);
      s.retrieval_ms = r.retrieval_ms;
      s.tokens = r.tokens.size();
      for (size_t i = 1; i < r.tokens.size(); ++i)
        s.gaps.push_back(ms(r.tokens[i] - r.tokens[i - 1]));
      row.samples.push_back(std::move(s));
    }
    return row;
  };

  // A few unmeasured requests first: connections, caches and the server's first-use costs.
  for (Route r : {Route::kDirect, Route::kAsk, Route::kChat}) {
    const long tag = next_tag++;
    const ClientRun warm = ask_once(r, r == Route::kDirect ? llm.port() : server.port(), tag,
                                    questions.front() + " (q" + std::to_string(tag) + ")");
    if (!warm.error.empty()) {
      std::fprintf(stderr, "bench_ttft: warm-up failed: %s\nserver log:\n%s\n", warm.error.c_str(),
                   tail(slurp(tmp.path() / "serve.log")).c_str());
      return 1;
    }
  }

  if (!args.json) {
    std::printf(
        "bench_ttft: replayed LLM, first token after %d ms, then %d tokens %d ms apart; %zu "
        "questions (ko+en) per row; collection docs/sample; %u cores shared by client, LLM and "
        "server\n",
        args.upstream_ttft_ms, args.tokens, args.token_ms, args.questions,
        std::thread::hardware_concurrency());
    std::printf(
        "%-18s %4s %4s | %8s %8s | %7s | %8s %8s | %8s %5s | %7s %7s %8s %8s | %8s %8s | %7s "
        "%7s\n",
        "mode (ms)", "conc", "ok", "TTFT p50", "p99", "up p50", "added50", "added99", "helpers",
        "calls", "own50", "own99", "before50", "relay50", "TTLT p50", "up TTLT", "gap p50",
        "retr50");
  }
  struct Mode {
    const char* name;
    Route route;
  };
  const Mode modes[] = {{"direct (baseline)", Route::kDirect},
                        {"/v1/ask stream", Route::kAsk},
                        {"/v1/chat stream", Route::kChat}};
  bool failures = false;
  for (const int c : args.concurrency)
    for (const Mode& m : modes) {
      const Row row = run_mode(m.name, m.route, c);
      std::vector<double> gaps;
      for (const Sample& s : row.samples) gaps.insert(gaps.end(), s.gaps.begin(), s.gaps.end());
      std::vector<double> calls;
      for (const Sample& s : row.samples) calls.push_back(s.helper_calls);
      const auto p = [&](double Sample::*f, double q) { return percentile(pick(row, f), q); };
      const double retr = p(&Sample::retrieval_ms, 0.5);
      const bool has_retr = !pick(row, &Sample::retrieval_ms).empty();
      if (args.json) {
        std::printf("%s\n", json{{"bench", "ttft"},
                                 {"mode", row.mode},
                                 {"concurrency", c},
                                 {"ok", row.ok},
                                 {"failed", row.failed},
                                 {"first_error", row.first_error},
                                 {"upstream_ttft_setting_ms", args.upstream_ttft_ms},
                                 {"token_ms", args.token_ms},
                                 {"client_ttft_p50", p(&Sample::client_ttft, 0.5)},
                                 {"client_ttft_p99", p(&Sample::client_ttft, 0.99)},
                                 {"upstream_ttft_p50", p(&Sample::upstream_ttft, 0.5)},
                                 {"upstream_ttft_p99", p(&Sample::upstream_ttft, 0.99)},
                                 {"added_p50", p(&Sample::added, 0.5)},
                                 {"added_p99", p(&Sample::added, 0.99)},
                                 {"helpers_p50", p(&Sample::helpers, 0.5)},
                                 {"helper_calls_p50", percentile(calls, 0.5)},
                                 {"own_p50", p(&Sample::own, 0.5)},
                                 {"own_p99", p(&Sample::own, 0.99)},
                                 {"before_p50", p(&Sample::before, 0.5)},
                                 {"relay_p50", p(&Sample::relay, 0.5)},
                                 {"relay_p99", p(&Sample::relay, 0.99)},
                                 {"client_ttlt_p50", p(&Sample::client_ttlt, 0.5)},
                                 {"upstream_ttlt_p50", p(&Sample::upstream_ttlt, 0.5)},
                                 {"gap_p50", percentile(gaps, 0.5)},
                                 {"gap_p99", percentile(gaps, 0.99)},
                                 {"retrieval_ms_p50", has_retr ? json(retr) : json(nullptr)}}
                                .dump()
                                .c_str());
      } else {
        std::printf(
            "%-18s %4d %4zu | %8.1f %8.1f | %7.1f | %8.1f %8.1f | %8.1f %5.0f | %7.1f %7.1f %8.1f "
            "%8.2f | %8.1f %8.1f | %7.1f %7s\n",
            row.mode.c_str(), c, row.ok, p(&Sample::client_ttft, 0.5),
            p(&Sample::client_ttft, 0.99), p(&Sample::upstream_ttft, 0.5), p(&Sample::added, 0.5),
            p(&Sample::added, 0.99), p(&Sample::helpers, 0.5), percentile(calls, 0.5),
            p(&Sample::own, 0.5), p(&Sample::own, 0.99), p(&Sample::before, 0.5),
            p(&Sample::relay, 0.5), p(&Sample::client_ttlt, 0.5), p(&Sample::upstream_ttlt, 0.5),
            percentile(gaps, 0.5), has_retr ? std::to_string(retr).substr(0, 6).c_str() : "-");
      }
      if (row.failed) {
        failures = true;
        std::fprintf(stderr, "bench_ttft: %s at concurrency %d: %zu of %zu failed, first: %s\n",
                     row.mode.c_str(), c, row.failed, args.questions, row.first_error.c_str());
      }
      std::fflush(stdout);
    }
  if (!args.json)
    std::printf(
        "added = TTFT - the same request's upstream TTFT (the answer call's, at the LLM); "
        "helpers = the time covered by Chaja's LLM calls before the answer (search plan, bridge "
        "check; calls side by side count once), and calls their median count; own = added - "
        "helpers; before = request -> "
        "answer call at the LLM; "
        "relay = LLM's first content byte -> client's first token; up TTLT = request -> LLM's "
        "last byte; gap = between token events at the client; retr = /v1/ask timings.retrieval_ms "
        "(includes the helpers)\n");
  return failures ? 1 : 0;
}
