// End to end, what an operator watches: GET /metrics after real traffic (requests by route and
// status, latency and time-to-first-token histograms, model calls and tokens by provider, ingest,
// index sizes), the JSON request log with request ids, and the audit log (who asked what, which
// sources came back, document changes). The model is OpenAI's recorded stream, replayed locally.
#include <catch2/catch.hpp>

#include <sstream>
#include <thread>

#include "../support/chaja_process.h"

namespace {

using namespace chaja::test;

// A provider that answers every chat call with OpenAI's recorded stream (which reports usage).
class RecordedOpenAI {
 public:
  RecordedOpenAI() {
    body_ = read_file(std::string(CHAJA_FIXTURES) + "/openai/chat_stream_include_usage.sse");
    REQUIRE(!body_.empty());
    server_.Post("/v1/chat/completions", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(body_, "text/event-stream");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ~RecordedOpenAI() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  std::string body_;
  int port_ = 0;
  std::thread thread_;
};

// The value of the sample `name{labels}` (or `name` without labels) in a scrape; -1 if absent.
double sample(const std::string& scrape, const std::string& series) {
  std::istringstream lines(scrape);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  return -1;
}

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] != '{') continue;
    json j = json::parse(line, nullptr, false);
    INFO(line);
    REQUIRE(!j.is_discarded());
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace

TEST_CASE("e2e metrics, request log and audit log after traffic", "[e2e][observability]") {
  TempDir data;
  const std::string d = "--data '" + data.path().string() + "'";
  REQUIRE(run("", "index '" + std::string(CHAJA_SOURCE_DIR) + "/docs/sample' " + d).exit_code == 0);
  RecordedOpenAI openai;
  const std::string log = data / "serve.log";
  {
    Serve server({"OPENAI_COMPAT_BASE_URL=" + openai.url() + "/v1"}, data.path().string(), log);
    auto c = server.client();
    // An extractive answer, streamed; a model's answer; a search with our own request id; a
    // document; a 404.
    auto streamed = c.Post(
        "/v1/ask", R"({"query":"When was the Greywick Point lighthouse first lit?","stream":true})",
        "application/json");
    REQUIRE(streamed->status == 200);
    auto modeled = c.Post(
        "/v1/ask",
        R"({"query":"When was the Greywick Point lighthouse first lit?","model":"openai-compat:gpt-4o"})",
        "application/json");
    REQUIRE(modeled->status == 200);
    auto searched = c.Post("/v1/search", httplib::Headers{{"X-Request-Id", "trace-42"}},
                           R"({"query":"lighthouse"})", "application/json");
    REQUIRE(searched->status == 200);
    CHECK(searched->get_header_value("X-Request-Id") == "trace-42");
    auto added =
        c.Post("/v1/documents",
               R"({"title":"Canteen","text":"The canteen opens at eight and closes at three."})",
               "application/json");
    REQUIRE(added->status == 201);
    CHECK(c.Get("/v1/threads/00000000000000000000000000000000")->status == 404);
    // A hostile request id is replaced, not logged.
    auto hostile = c.Get("/healthz", httplib::Headers{{"X-Request-Id", "a\"b c{}"}});
    CHECK(hostile->get_header_value("X-Request-Id").size() == 16);

    auto scrape = c.Get("/metrics");
    REQUIRE(scrape);
    REQUIRE(scrape->status == 200);
    CHECK(scrape->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0) == 0);
    const std::string& m = scrape->body;
    INFO(m);
    CHECK(sample(m, R"(chaja_http_requests_total{route="POST /v1/ask",status="200"})") == 2);
    CHECK(sample(m, R"(chaja_http_requests_total{route="POST /v1/search",status="200"})") == 1);
    CHECK(sample(m, R"(chaja_http_requests_total{route="GET /v1/threads/{id}",status="404"})") ==
          1);
    CHECK(sample(m, R"(chaja_http_request_duration_seconds_count{route="POST /v1/ask"})") == 2);
    CHECK(sample(m,
                 R"(chaja_http_request_duration_seconds_bucket{route="POST /v1/ask",le="+Inf"})") ==
          2);
    CHECK(sample(m, "chaja_time_to_first_token_seconds_count") == 1);  // the streamed one
    CHECK(sample(m, R"(chaja_model_calls_total{provider="openai-compat",outcome="ok"})") >= 1);
    CHECK(sample(m, R"(chaja_model_tokens_total{provider="openai-compat",direction="prompt"})") >=
          14);
    CHECK(
        sample(m, R"(chaja_model_tokens_total{provider="openai-compat",direction="completion"})") >=
        30);
    CHECK(sample(m, "chaja_ingest_documents_total") == 1);
    CHECK(sample(m, "chaja_ingest_bytes_total") == 47);
    CHECK(sample(m, "chaja_index_documents") == 12);
    CHECK(sample(m, "chaja_streams_open") == 0);
  }  // the server stops: its log is complete

  // The request log: one JSON object per request, with the ids, never a body.
  const auto requests = json_lines(read_file(log));
  bool saw_trace = false;
  for (const json& r : requests) {
    CHECK(r["msg"] == "request");
    CHECK(r["request_id"].is_string());
    if (r["request_id"] == "trace-42") {
      saw_trace = true;
      CHECK(r["route"] == "POST /v1/search");
      CHECK(r["status"] == 200);
    }
  }
  CHECK(saw_trace);
  CHECK(!has(read_file(log), "canteen opens"));

  // The audit log: the questions with their sources, and the document added.
  const auto audit = json_lines(read_file(data / "audit.log"));
  int asks = 0, cited = 0;
  bool added = false;
  for (const json& e : audit) {
    if (e["event"] == "ask") {
      ++asks;
      CHECK(e["query"] == "When was the Greywick Point lighthouse first lit?");
      REQUIRE(e["sources"].is_array());  // what the answer cited (the replayed text cites none)
      if (!e["sources"].empty() &&
          has(e["sources"][0].get<std::string>(), "greywick-lighthouse.md"))
        ++cited;
    }
    if (e["event"] == "document.add") {
      added = true;
      CHECK(e["status"] == "added");
    }
  }
  CHECK(asks == 2);
  CHECK(cited == 1);
  CHECK(added);
}

TEST_CASE("e2e metrics need an admin key once keys exist", "[e2e][observability][keys]") {
  TempDir data;
  const std::string d = "--data '" + data.path().string() + "'";
  auto key = [&](const std::string& args) {
    const Run r = run("", "keys create --json " + args + " " + d);
    REQUIRE(r.exit_code == 0);
    return json::parse(r.out)["key"].get<std::string>();
  };
  const std::string reader = key("--role reader --collections docs");
  const std::string admin = key("--role admin");
  Serve server({}, data.path().string());
  auto c = server.client();
  CHECK(c.Get("/metrics")->status == 401);
  CHECK(c.Get("/metrics", httplib::Headers{{"Authorization", "Bearer " + reader}})->status == 403);
  auto scrape = c.Get("/metrics", httplib::Headers{{"Authorization", "Bearer " + admin}});
  REQUIRE(scrape->status == 200);
  CHECK(sample(scrape->body, "chaja_api_keys_active") == 2);
}
