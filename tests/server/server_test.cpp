// Black-box tests of `chaja serve` (CONTRACT §3): every test case indexes a small corpus into a
// fresh data directory with the real `chaja index`, starts the real `chaja serve` on a free
// loopback port, and talks to it over HTTP like any client would. Nothing here links Chaja code.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kJsonType = "application/json";

// --- The corpus ------------------------------------------------------------------------------
// Small documents with one crisp fact per question, plus a Korean distractor, so that ranking and
// answers can be checked exactly.

struct TestDocument {
  const char* filename;
  const char* text;
};

constexpr const char* kFestivalFile = "byeolbit-festival-ko.txt";
constexpr const char* kObservatoryFile = "greyfin-observatory.md";

const TestDocument kCorpus[] = {
    {kFestivalFile,
     "해람시 '별빛 호수 불꽃축제' 개최 결과\n\n"
     "해람시의 대표 여름 행사인 제9회 별빛 호수 불꽃축제가 2024년 8월 17일 은솔호수 공원에서 "
     "열렸다. 축제 사무국은 올해 방문객이 27만 4천 명으로 집계되었다고 밝혔다. 밤하늘에는 불꽃 "
     "4만 3천 발이 쏘아 올려졌다.\n\n"
     "축제를 후원한 회사는 청람전자이다. 청람전자의 대표이사는 윤가온이며, 청람전자는 축제 "
     "운영비로 12억 원을 지원했다. 제10회 별빛 호수 불꽃축제는 2025년 8월 16일에 열릴 예정이다.\n"},
    {"mokryeon-foods-ko.txt",
     "목련식품 회사 소개\n\n"
     "목련식품은 1998년 설립된 전통 장류 회사이다. 목련식품의 본사는 다솜시에 있으며 직원은 "
     "420명이다. 목련식품이 만드는 대표 제품은 햇살 된장과 고운 고추장이다. 목련식품은 매년 봄 "
     "장 담그기 체험 행사를 연다.\n"},
    {kObservatoryFile,
     "# Greyfin Observatory\n\n"
     "The Greyfin Observatory stands on Mount Alder at an altitude of 2,417 metres.\n"
     "Its main telescope has a mirror 3.6 metres across and saw first light in 1987.\n\n"
     "## Operations\n\n"
     "The observatory is operated by the Marrow Institute of Astronomy. Public tours run\n"
     "every Saturday from May to September; about 18,000 guests visit a year.\n"},
};

// Questions whose answers the corpus states in one sentence.
constexpr const char* kKoreanQuestion = "청람전자의 대표이사는 누구인가요?";
constexpr const char* kKoreanFact = "윤가온";
constexpr const char* kEnglishQuestion = "What is the altitude of the Greyfin Observatory?";
constexpr const char* kEnglishFact = "2,417";

// --- Processes and directories -----------------------------------------------------------------

// A directory made with mkdtemp under /tmp; removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/chaja-server-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
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

void write_file(const fs::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Starts `args` (args[0] is the program path) with stdin from /dev/null and stdout and stderr
// appended to `log`. Returns the child's pid.
pid_t spawn(const std::vector<std::string>& args, const fs::path& log) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    throw std::runtime_error("posix_spawn " + args[0] + " failed: " + std::to_string(rc));
  return pid;
}

// Waits up to `timeout` for `pid` to exit. Returns its wait status, or nullopt if it still runs.
std::optional<int> wait_for_exit(pid_t pid, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) return -1;  // not our child any more: nothing left to wait for
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(milliseconds(10));
  }
}

// "exit code N" or "signal N", from a waitpid status.
std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

// A loopback port that was free a moment ago: bound with port 0, read back, released.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot find a free loopback port");
  return ntohs(addr.sin_port);
}

httplib::Client make_client(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(10, 0);
  client.set_write_timeout(10, 0);
  return client;
}

// One `chaja serve` over its own data directory, indexed from kCorpus. Not thread-safe; the
// clients it makes are independent and may be used from any thread.
class ChajaServer {
 public:
  // Indexes the corpus with `chaja index` and starts serving; throws (with the log) on failure.
  ChajaServer() {
    for (const TestDocument& d : kCorpus) write_file(docs_.path() / d.filename, d.text);
    const fs::path index_log = data_.path() / "index.log";
    const pid_t pid = spawn(
        {CHAJA_BINARY, "index", docs_.path().string(), "--data", data_dir().string()}, index_log);
    const auto status = wait_for_exit(pid, seconds(10));
    if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
      if (!status) terminate(pid);
      throw std::runtime_error("chaja index failed:\n" + read_file(index_log));
    }
    start();
  }

  // Stops the server (SIGTERM, SIGKILL after 5 s) and removes the data and document folders.
  ~ChajaServer() {
    if (pid_ > 0) terminate(pid_);
  }

  ChajaServer(const ChajaServer&) = delete;
  ChajaServer& operator=(const ChajaServer&) = delete;

  // Starts `chaja serve` on the data directory and a new free port; returns once /healthz
  // answers 200. Throws, with the server's log, if it exits or is not healthy within 10 s.
  void start() {
    port_ = free_port();
    pid_ = spawn({CHAJA_BINARY, "serve", "--data", data_dir().string(), "--host", "127.0.0.1",
                  "--port", std::to_string(port_)},
                 log_path());
    const auto deadline = Clock::now() + seconds(10);
    httplib::Client probe("127.0.0.1", port_);
    probe.set_connection_timeout(0, 200'000);
    probe.set_read_timeout(1, 0);
    while (Clock::now() < deadline) {
      if (auto r = probe.Get("/healthz"); r && r->status == 200) return;
      if (auto status = wait_for_exit(pid_, milliseconds(0))) {
        pid_ = -1;
        throw std::runtime_error("chaja serve exited (" + describe_exit(*status) +
                                 ") before it was healthy; log:\n" + log());
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
    terminate(pid_);
    pid_ = -1;
    throw std::runtime_error("chaja serve was not healthy within 10 s; log:\n" + log());
  }

  // SIGTERM and wait; returns the wait status. The server must be running.
  int stop() {
    if (pid_ <= 0) throw std::logic_error("stop(): the server is not running");
    const int status = terminate(pid_);
    pid_ = -1;
    return status;
  }

  // SIGKILL: the process dies mid-flight, as in a power cut for everything but the disk.
  void kill_hard() {
    if (pid_ <= 0) throw std::logic_error("kill_hard(): the server is not running");
    ::kill(pid_, SIGKILL);
    wait_for_exit(pid_, seconds(5));
    pid_ = -1;
  }

  httplib::Client client() const { return make_client(port_); }
  int port() const { return port_; }
  fs::path data_dir() const { return data_.path(); }
  fs::path log_path() const { return data_.path() / "server.log"; }
  std::string log() const { return read_file(log_path()); }

 private:
  // SIGTERM, up to 5 s for a clean exit, then SIGKILL. Returns the wait status. pid > 0: kill()
  // with 0 or -1 would signal a whole process group or every process we may signal.
  static int terminate(pid_t pid) {
    if (pid <= 0) return -1;
    ::kill(pid, SIGTERM);
    if (auto status = wait_for_exit(pid, seconds(5))) return *status;
    ::kill(pid, SIGKILL);
    return wait_for_exit(pid, seconds(5)).value_or(-1);
  }

  TempDir docs_;
  TempDir data_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// --- HTTP helpers --------------------------------------------------------------------------------

// An HTTP exchange's outcome; status 0 means no response arrived (connection failed or reset).
struct Reply {
  int status = 0;
  std::string content_type;
  std::string body;
  std::string transport_error;

  // The body as JSON; a discarded value when it is not JSON.
  json body_json() const { return json::parse(body, nullptr, /*allow_exceptions=*/false); }
};

Reply to_reply(const httplib::Result& r) {
  Reply reply;
  if (!r) {
    reply.transport_error = httplib::to_string(r.error());
    return reply;
  }
  reply.status = r->status;
  reply.content_type = r->get_header_value("Content-Type");
  reply.body = r->body;
  return reply;
}

Reply get(const ChajaServer& server, const std::string& path) {
  return to_reply(server.client().Get(path));
}

Reply del(const ChajaServer& server, const std::string& path) {
  return to_reply(server.client().Delete(path));
}

Reply post(const ChajaServer& server, const std::string& path, const std::string& body,
           const char* content_type = kJsonType) {
  return to_reply(server.client().Post(path, body, content_type));
}

Reply post_json(const ChajaServer& server, const std::string& path, const json& body) {
  return post(server, path, body.dump());
}

Reply post_form(const ChajaServer& server, const std::string& path,
                const httplib::MultipartFormDataItems& items) {
  return to_reply(server.client().Post(path, items));
}

std::string describe(const Reply& r) {
  return "HTTP " + std::to_string(r.status) + " " + r.transport_error + " [" + r.content_type +
         "] " + r.body.substr(0, 500);
}

// j[key] when it is a string, else "" (also when j is not an object).
std::string text_field(const json& j, const char* key) {
  if (!j.is_object()) return "";
  const auto it = j.find(key);
  if (it == j.end()) return "";
  const auto* s = it->get_ptr<const std::string*>();
  return s ? *s : "";
}

bool is_json_type(const std::string& content_type) {
  return content_type.rfind(kJsonType, 0) == 0;
}

// The contract's error shape: the given status and a JSON body {"error":{"type","message"}}.
void check_error(const Reply& r, int status) {
  INFO(describe(r));
  CHECK(r.status == status);
  CHECK(is_json_type(r.content_type));
  json j = r.body_json();
  REQUIRE(j.is_object());
  REQUIRE(j.contains("error"));
  CHECK(j["error"]["type"].is_string());
  CHECK(j["error"]["message"].is_string());
  CHECK_FALSE(text_field(j["error"], "message").empty());
}

// The JSON object body of a reply with `status`; fails the test on anything else.
json ok_json(const Reply& r, int status = 200) {
  INFO(describe(r));
  REQUIRE(r.status == status);
  CHECK(is_json_type(r.content_type));
  json j = r.body_json();
  REQUIRE(j.is_object());
  return j;
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The numbers inside the answer's [n] citation markers, in order.
std::vector<long> citation_markers(const std::string& answer) {
  std::vector<long> out;
  for (size_t i = answer.find('['); i != std::string::npos; i = answer.find('[', i + 1)) {
    size_t j = i + 1;
    while (j < answer.size() && answer[j] >= '0' && answer[j] <= '9') ++j;
    if (j > i + 1 && j < answer.size() && answer[j] == ']')
      out.push_back(std::stol(answer.substr(i + 1, j - i - 1)));
  }
  return out;
}

// The contract's citation list: numbered 1..N in order, each with its fields.
void check_citations(json citations) {
  REQUIRE(citations.is_array());
  for (size_t i = 0; i < citations.size(); ++i) {
    json& c = citations[i];
    INFO("citation " << c.dump());
    CHECK(c["n"] == i + 1);
    CHECK(c["doc_id"].is_number_integer());
    CHECK(c["title"].is_string());
    CHECK(c["source"].is_string());
    CHECK(c["snippet"].is_string());
    CHECK_FALSE(text_field(c, "snippet").empty());
  }
}

// The contract's /v1/ask response, with an answer citing at least one source.
void check_ask_response(json j) {
  INFO(j.dump());
  REQUIRE(j["answer"].is_string());
  const std::string answer = j["answer"];
  CHECK_FALSE(answer.empty());
  REQUIRE(j["citations"].is_array());
  CHECK_FALSE(j["citations"].empty());
  check_citations(j["citations"]);
  const std::vector<long> markers = citation_markers(answer);
  CHECK_FALSE(markers.empty());
  for (long n : markers) {
    CHECK(n >= 1);
    CHECK(n <= static_cast<long>(j["citations"].size()));
  }
  CHECK(j["model"] == "extractive");
  CHECK(j["related_questions"].is_array());
  CHECK(j.contains("thread_id"));
  CHECK(j["usage"].is_object());
}

// One Server-Sent Events frame: its `event:` name and its `data:` lines joined by newlines.
struct SseEvent {
  std::string event;
  std::string data;
};

std::vector<SseEvent> parse_sse(const std::string& body) {
  std::vector<SseEvent> events;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) end = body.size();
    std::istringstream frame(body.substr(pos, end - pos));
    SseEvent e;
    bool any = false;
    for (std::string line; std::getline(frame, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.rfind("event:", 0) == 0) {
        e.event = line.substr(line.size() > 6 && line[6] == ' ' ? 7 : 6);
        any = true;
      } else if (line.rfind("data:", 0) == 0) {
        if (!e.data.empty()) e.data += '\n';
        e.data += line.substr(line.size() > 5 && line[5] == ' ' ? 6 : 5);
        any = true;
      }
    }
    if (any) events.push_back(std::move(e));
    pos = end + 2;
  }
  return events;
}

// Whether any of a /v1/search reply's results belongs to document `doc_id`.
bool search_finds(const ChajaServer& server, const json& request, int64_t doc_id) {
  json j = ok_json(post_json(server, "/v1/search", request));
  for (json& hit : j["results"])
    if (hit["doc_id"] == doc_id) return true;
  return false;
}

// --- Tests -----------------------------------------------------------------------------------

TEST_CASE("server: GET /healthz answers ok, and SIGTERM stops the server cleanly", "[server]") {
  ChajaServer server;
  json j = ok_json(get(server, "/healthz"));
  CHECK(j["status"] == "ok");

  const int status = server.stop();
  INFO(server.log());
  CHECK(describe_exit(status) == "exit code 0");
}

TEST_CASE("server: POST /v1/search ranks the right document for a Korean query with particles",
          "[server]") {
  ChajaServer server;
  json j =
      ok_json(post_json(server, "/v1/search", {{"query", "불꽃축제를 후원한 회사는 어디인가요?"}}));
  INFO(j.dump());
  CHECK(j["took_ms"].is_number());
  REQUIRE(j["results"].is_array());
  REQUIRE_FALSE(j["results"].empty());
  for (json& hit : j["results"]) {
    CHECK(hit["id"].is_number_integer());
    CHECK(hit["doc_id"].is_number_integer());
    CHECK(hit["title"].is_string());
    CHECK(hit["source"].is_string());
    CHECK(hit["text"].is_string());
    CHECK(hit["score"].is_number());
  }
  CHECK(ends_with(text_field(j["results"][0], "source"), kFestivalFile));
  CHECK(text_field(j["results"][0], "text").find("청람전자") != std::string::npos);

  json limited =
      ok_json(post_json(server, "/v1/search", {{"query", "Greyfin telescope"}, {"k", 1}}));
  CHECK(limited["results"].size() == 1);
  CHECK(ends_with(text_field(limited["results"][0], "source"), kObservatoryFile));
}

TEST_CASE("server: POST /v1/ask answers Korean and English questions with valid citations",
          "[server]") {
  ChajaServer server;
  struct Case {
    const char* question;
    const char* fact;
    const char* file;
  };
  for (const Case& c : {Case{kKoreanQuestion, kKoreanFact, kFestivalFile},
                        Case{kEnglishQuestion, kEnglishFact, kObservatoryFile}}) {
    INFO("question: " << c.question);
    json j = ok_json(post_json(server, "/v1/ask", {{"query", c.question}}));
    check_ask_response(j);
    const std::string answer = text_field(j, "answer");
    CHECK(answer.find(c.fact) != std::string::npos);
    REQUIRE_FALSE(j["citations"].empty());
    CHECK(ends_with(text_field(j["citations"][0], "source"), c.file));
  }
}

TEST_CASE("server: POST /v1/ask with stream:true sends sources, deltas, related, done",
          "[server]") {
  ChajaServer server;
  const Reply r = post_json(server, "/v1/ask", {{"query", kKoreanQuestion}, {"stream", true}});
  INFO(describe(r));
  REQUIRE(r.status == 200);
  CHECK(r.content_type.rfind("text/event-stream", 0) == 0);

  const std::vector<SseEvent> events = parse_sse(r.body);
  REQUIRE(events.size() >= 4);
  std::vector<json> data;
  for (const SseEvent& e : events) {
    INFO("event " << e.event << " data " << e.data);
    data.push_back(json::parse(e.data, nullptr, false));
    CHECK_FALSE(data.back().is_discarded());
  }
  // The search steps come first, then the sources, then the answer.
  size_t first = 0;
  while (first < events.size() && events[first].event == "step") ++first;
  CHECK(first >= 1);
  REQUIRE(first < events.size());
  CHECK(events[first].event == "sources");
  CHECK(events[events.size() - 2].event == "related");
  CHECK(events.back().event == "done");
  std::string streamed;
  for (size_t i = first + 1; i + 2 < events.size(); ++i) {
    CHECK((events[i].event == "delta" || events[i].event == "citation"));
    if (events[i].event == "delta") streamed += text_field(data[i], "text");
  }

  json& done = data.back();
  REQUIRE(done.is_object());
  check_ask_response(done);
  CHECK(streamed == text_field(done, "answer"));
  CHECK(text_field(done, "answer").find(kKoreanFact) != std::string::npos);
  CHECK(data[first]["citations"] == done["citations"]);
  CHECK(data[data.size() - 2]["related_questions"] == done["related_questions"]);
}

TEST_CASE("server: bad requests get 4xx with a JSON error body", "[server]") {
  ChajaServer server;
  struct Case {
    const char* name;
    const char* path;
    std::string body;
    int status;
  };
  std::string query_5000;
  for (int i = 0; i < 5000; ++i) query_5000 += "가";
  const std::string huge(17u << 20, 'a');
  const std::vector<Case> cases = {
      {"empty query", "/v1/search", R"({"query":""})", 400},
      {"empty query (ask)", "/v1/ask", R"({"query":""})", 400},
      {"whitespace query", "/v1/ask", R"({"query":"  \t\n "})", 400},
      {"ideographic-space query", "/v1/search", R"({"query":" \u3000 "})", 400},
      {"missing query", "/v1/search", R"({"k":3})", 400},
      {"missing query (ask)", "/v1/ask", R"({"stream":false})", 400},
      {"broken JSON", "/v1/ask", R"({"query": "hello")", 400},
      {"query is a number", "/v1/search", R"({"query":42})", 400},
      {"k is 0", "/v1/search", R"({"query":"Greyfin","k":0})", 400},
      {"k is 1000", "/v1/search", R"({"query":"Greyfin","k":1000})", 400},
      {"unknown collection", "/v1/search", R"({"query":"Greyfin","collection":"nosuch"})", 404},
      {"unknown collection (ask)", "/v1/ask", R"({"query":"Greyfin","collection":"nosuch"})", 404},
      {"invalid collection name", "/v1/search", R"({"query":"Greyfin","collection":"../x"})", 400},
      {"unknown model", "/v1/ask", R"({"query":"Greyfin","model":"nope:x"})", 400},
      {"query of 5000 characters", "/v1/search", json{{"query", query_5000}}.dump(), 400},
      {"query of 5000 characters (ask)", "/v1/ask", json{{"query", query_5000}}.dump(), 400},
      {"invalid UTF-8 in a string", "/v1/search", "{\"query\":\"Grey\xff\xfe fin\"}", 400},
      {"invalid UTF-8 in a string (ask)", "/v1/ask", "{\"query\":\"\xed\xa0\x80\xc3\"}", 400},
      {"body over 16 MiB", "/v1/ask", R"({"query":")" + huge + R"("})", 413},
  };
  for (const Case& c : cases) {
    INFO("case: " << c.name);
    check_error(post(server, c.path, c.body), c.status);
  }

  {
    INFO("unknown routes");
    check_error(get(server, "/v1/nope"), 404);
    check_error(post(server, "/v1/nope", R"({"query":"x"})"), 404);
  }
  {
    INFO("a query of exactly 4000 characters is still accepted");
    std::string query_4000;
    for (int i = 0; i < 4000; ++i) query_4000 += "가";
    CHECK(post_json(server, "/v1/search", {{"query", query_4000}}).status == 200);
  }
  CHECK(get(server, "/healthz").status == 200);
}

TEST_CASE("server: documents: add, unchanged re-add, list, get, search, delete", "[server]") {
  ChajaServer server;
  const json doc = {{"title", "Harrowgate charter"},
                    {"text",
                     "The Quillon Archive keeps the Harrowgate charter, which seven guild masters "
                     "signed in 1642."},
                    {"metadata", {{"department", "legal"}}}};
  json added = ok_json(post_json(server, "/v1/documents", doc), 201);
  INFO(added.dump());
  REQUIRE(added["id"].is_number_integer());
  CHECK(added["chunks"].get<int64_t>() >= 1);
  const int64_t id = added["id"];
  const std::string doc_path = "/v1/documents/" + std::to_string(id);

  // Without a source the source is the content hash, so the same text again changes nothing.
  json again = ok_json(post_json(server, "/v1/documents", doc), 200);
  CHECK(again["status"] == "unchanged");
  CHECK(again["id"] == id);

  json list = ok_json(get(server, "/v1/documents"));
  json* listed = nullptr;
  for (json& d : list["documents"])
    if (d["id"] == id) listed = &d;
  REQUIRE(listed != nullptr);
  CHECK((*listed)["title"] == "Harrowgate charter");
  CHECK((*listed)["metadata"] == json{{"department", "legal"}});
  CHECK(list["documents"].size() == std::size(kCorpus) + 1);

  json one = ok_json(get(server, doc_path));
  CHECK(one["id"] == id);
  CHECK(one["metadata"]["department"] == "legal");

  const json query = {{"query", "Who signed the Harrowgate charter?"}};
  CHECK(search_finds(server, query, id));

  json deleted = ok_json(del(server, doc_path));
  CHECK(deleted["deleted"] == id);
  CHECK_FALSE(search_finds(server, query, id));
  check_error(get(server, doc_path), 404);
  check_error(del(server, doc_path), 404);
  check_error(del(server, "/v1/documents/abc"), 400);
}

TEST_CASE("server: documents: multipart upload into a collection, then asked about", "[server]") {
  ChajaServer server;
  const std::string note =
      "# Tern Bay Ferry\n\n"
      "The Tern Bay ferry leaves the north pier at 06:40 every weekday.\n"
      "The crossing from Tern Bay to Pell Island takes 52 minutes.\n";
  json added = ok_json(
      post_form(server, "/v1/documents",
                {{"file", note, "note.md", "text/markdown"}, {"collection", "uploads", "", ""}}),
      201);
  INFO(added.dump());
  REQUIRE(added["id"].is_number_integer());
  const int64_t id = added["id"];

  json j = ok_json(post_json(
      server, "/v1/ask",
      {{"query", "How long does the crossing to Pell Island take?"}, {"collection", "uploads"}}));
  check_ask_response(j);
  CHECK(text_field(j, "answer").find("52 minutes") != std::string::npos);
  REQUIRE_FALSE(j["citations"].empty());
  CHECK(j["citations"][0]["doc_id"] == id);
  CHECK(j["citations"][0]["source"] == "note.md");
  CHECK(j["citations"][0]["title"] == "Tern Bay Ferry");

  check_error(
      post_form(server, "/v1/documents", {{"file", "MZ\x90", "x.exe", "application/octet-stream"}}),
      400);
  check_error(post_form(server, "/v1/documents", {{"collection", "uploads", "", ""}}), 400);
}

TEST_CASE("server: a stored document survives kill -9 of the server", "[server]") {
  ChajaServer server;
  json added =
      ok_json(post_json(server, "/v1/documents",
                        {{"title", "Orrin lighthouse"},
                         {"text", "The Orrin lighthouse keeper logs the Vasquel tide at dawn."}}),
              201);
  const int64_t id = added["id"];

  server.kill_hard();
  server.start();
  INFO(server.log());
  CHECK(search_finds(server, {{"query", "Vasquel tide"}}, id));
  CHECK(ok_json(get(server, "/v1/documents/" + std::to_string(id)))["title"] == "Orrin lighthouse");
}

TEST_CASE("server: malformed requests get 4xx and concurrent asks all succeed", "[server]") {
  ChajaServer server;
  std::vector<std::pair<const char*, std::string>> requests;  // path, body
  const char* const paths[] = {"/v1/ask", "/v1/search"};

  std::mt19937 rng(20240817);  // fixed: a failure reproduces
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(1, 600);
  for (int i = 0; i < 24; ++i) {
    std::string body(static_cast<size_t>(length(rng)), '\0');
    for (char& ch : body) ch = static_cast<char>(byte(rng));
    requests.emplace_back(paths[i % 2], std::move(body));
  }
  const std::string valid = R"({"query":"청람전자의 대표이사는 누구인가요?","k":3})";
  for (size_t cut : std::initializer_list<size_t>{1, 2, 9, 10, 20, 30, 44, valid.size() - 1}) {
    requests.emplace_back(paths[cut % 2], valid.substr(0, cut));
  }
  for (const char* body :
       {"[]", R"(["query","Greyfin"])", R"([{"query":"Greyfin"}])", "\"Greyfin\"", "42", "null",
        "true", "", R"({"query":["Greyfin"]})", R"({"query":{"q":"x"}})",
        R"({"query":"Greyfin","stream":"yes"})", R"({"query":"Greyfin","k":"3"})"}) {
    requests.emplace_back("/v1/ask", body);
  }
  const std::string deep_open(10000, '[');
  requests.emplace_back("/v1/ask", deep_open);
  requests.emplace_back("/v1/search", deep_open + std::string(10000, ']'));
  std::string deep_object;
  for (int i = 0; i < 10000; ++i) deep_object += R"({"query":)";
  requests.emplace_back("/v1/ask", deep_object + "1" + std::string(10000, '}'));
  requests.emplace_back("/v1/search", R"({"query":)" + deep_open + std::string(10000, ']') + "}");
  requests.emplace_back("/v1/documents", deep_open);
  requests.emplace_back("/v1/documents", R"({"text":)" + deep_open);
  REQUIRE(requests.size() == 50);

  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& [path, body] = requests[i];
    const Reply r = post(server, path, body);
    INFO("request " << i << " to " << path << ": " << describe(r));
    CHECK(r.status >= 400);
    CHECK(r.status < 500);
  }
  REQUIRE(get(server, "/healthz").status == 200);
  CHECK(ok_json(get(server, "/v1/documents"))["documents"].size() == std::size(kCorpus));

  constexpr int kThreads = 16;
  std::vector<Reply> replies(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&server, &replies, t] {
      const char* question = t % 2 == 0 ? kKoreanQuestion : kEnglishQuestion;
      replies[static_cast<size_t>(t)] = post_json(server, "/v1/ask", {{"query", question}});
    });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) {
    const Reply& r = replies[static_cast<size_t>(t)];
    INFO("thread " << t << ": " << describe(r));
    CHECK(r.status == 200);
    CHECK(text_field(r.body_json(), "answer").find(t % 2 == 0 ? kKoreanFact : kEnglishFact) !=
          std::string::npos);
  }
  CHECK(get(server, "/healthz").status == 200);
}

}  // namespace

TEST_CASE("server: a large JSON body sent as curl -d sends it (form-urlencoded) is read in full",
          "[server]") {
  ChajaServer server;
  // httplib's own form decoding stops such bodies at 8 KiB; Chaja reads bodies itself.
  const json doc = {{"title", "Long form note"},
                    {"text", std::string(300'000, 'x') + " The Orrin valve closes at 7 bar."}};
  const Reply r = post(server, "/v1/documents", doc.dump(), "application/x-www-form-urlencoded");
  INFO(describe(r));
  CHECK(r.status == 201);
}

TEST_CASE("server: foreign Host names and cross-origin writes are refused", "[server]") {
  ChajaServer server;
  httplib::Client c = server.client();
  // DNS rebinding: a page on evil.example resolved to 127.0.0.1 sends its own Host name.
  auto r =
      to_reply(c.Get("/v1/documents", {{"Host", "evil.example:" + std::to_string(server.port())}}));
  CHECK(r.status == 403);
  check_error(r, 403);
  // A page from another origin may not write, even with a CORS-simple content type.
  const std::string body = R"({"title":"planted","text":"planted text"})";
  r = to_reply(c.Post("/v1/documents", {{"Origin", "https://evil.example"}}, body, "text/plain"));
  check_error(r, 403);
  // The page Chaja serves itself posts with its own origin.
  const std::string self = "http://127.0.0.1:" + std::to_string(server.port());
  r = to_reply(c.Post("/v1/ask", {{"Origin", self}}, R"({"query":"Orrin valve"})", kJsonType));
  CHECK(r.status == 200);
  // Clients that send no Origin (curl, SDKs) are not affected.
  CHECK(post(server, "/v1/ask", R"({"query":"anything"})").status == 200);
}

TEST_CASE("server: SIGTERM at any moment of start-up stops the server", "[server]") {
  // A signal between binding and listening used to be swallowed: only kill -9 worked then.
  for (int delay_ms : {1, 10, 30, 60, 120}) {
    INFO("SIGTERM after " << delay_ms << " ms");
    TempDir data;
    const pid_t pid = spawn({CHAJA_BINARY, "serve", "--data", data.path().string(), "--host",
                             "127.0.0.1", "--port", std::to_string(free_port())},
                            data.path() / "serve.log");
    std::this_thread::sleep_for(milliseconds(delay_ms));
    ::kill(pid, SIGTERM);
    auto status = wait_for_exit(pid, seconds(5));
    if (!status) {
      ::kill(pid, SIGKILL);
      wait_for_exit(pid, seconds(5));
    }
    CHECK(status.has_value());
  }
}

TEST_CASE("server: refuses a non-loopback address without --open", "[server]") {
  TempDir data;
  const pid_t pid = spawn({CHAJA_BINARY, "serve", "--data", data.path().string(), "--host",
                           "0.0.0.0", "--port", std::to_string(free_port())},
                          data.path() / "serve.log");
  auto status = wait_for_exit(pid, seconds(5));
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 2);
  CHECK(read_file(data.path() / "serve.log").find("--open") != std::string::npos);
}

TEST_CASE("server: the SIMD level in use shows in --version and /healthz; CHAJA_SIMD lowers it",
          "[server]") {
  auto version = [](const char* env) {
    const std::string cmd = std::string(env) + " " + CHAJA_BINARY + " --version";
    FILE* p = popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[256] = {};
    const size_t n = fread(buf, 1, sizeof buf - 1, p);
    pclose(p);
    return std::string(buf, n);
  };
  CHECK(version("CHAJA_SIMD=scalar").find("(simd: scalar)") != std::string::npos);
  const std::string native = version("");
  CHECK((native.find("simd: avx512") != std::string::npos ||
         native.find("simd: avx2") != std::string::npos ||
         native.find("simd: scalar") != std::string::npos));
  ChajaServer server;
  const json h = ok_json(get(server, "/healthz"));
  CHECK(native.find("simd: " + h["simd"].get<std::string>()) != std::string::npos);
}

TEST_CASE("server: search with explain shows each ranking component", "[server]") {
  ChajaServer server;
  const json j =
      ok_json(post_json(server, "/v1/search", {{"query", "불꽃축제 후원"}, {"explain", true}}));
  REQUIRE(!j["results"].empty());
  json first = j["results"][0];
  REQUIRE(first.contains("explain"));
  json e = first["explain"];
  CHECK(e["fused"].get<double>() == Approx(first["score"].get<double>()));
  CHECK(e["bm25"]["rank"].get<int>() >= 1);
  CHECK(e["dense"]["rank"].get<int>() >= 1);
  const json plain = ok_json(post_json(server, "/v1/search", {{"query", "불꽃축제 후원"}}));
  CHECK_FALSE(json(plain["results"][0]).contains("explain"));
}
